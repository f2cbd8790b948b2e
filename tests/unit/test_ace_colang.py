"""The Colang side of ACE bot folders without sockets: loading and its errors, the UMIM
mapping of transcripts, Voxline's speech.co and its copies, where chat endpoints go."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from voxline.ace import umim
from voxline.ace.chat_actions import _server_base
from voxline.ace.colang_config import ColangConfigError, find_bot_config, load_colang_config
from voxline.bot import BotError, load_bot
from voxline.events import Transcript, TranscriptKind

ACE_RAG = ROOT / "bots" / "ace_rag"
SPEECH_CO = ROOT / "src" / "voxline" / "ace" / "speech.co"


def bot_folder(tmp: Path, main: str, config: str = 'colang_version: "2.x"\nmodels: []\n') -> Path:
    (tmp / "colang").mkdir(parents=True)
    (tmp / "bot_config.yaml").write_text(config)
    (tmp / "colang" / "main.co").write_text(main)
    return tmp


def test_the_sample_bot_loads_as_a_colang_bot_with_its_ace_speech_settings():
    bot = load_bot(ACE_RAG)
    assert (bot.name, bot.agent) == ("nvidia_rag_bot", "colang")
    assert bot.turns.mode == "interim"  # partials and first-pass transcripts are recognised
    assert (bot.turns.stop_history_ms, bot.turns.stop_history_eou_ms) == (800, 240)
    assert bot.spec["dialog_manager"]["server"] == "http://localhost:9002/rag"
    config = load_colang_config(ACE_RAG)
    names = {flow.name for flow in config.flows}
    assert {"main", "rag", "generate rag response", "bot say"} <= names  # core imported
    assert "handle user transcript with interruption" in names


def test_speech_co_is_copied_unchanged_into_the_sample_and_the_design_fixture():
    ours = SPEECH_CO.read_text()
    assert (ACE_RAG / "colang" / "speech.co").read_text() == ours
    assert (ROOT / "tests/fixtures/ace_design_bot/colang/speech.co").read_text() == ours


def test_ace_bot_config_names(tmp_path):
    assert find_bot_config(ACE_RAG) == ACE_RAG / "bot_config.yaml"
    (tmp_path / "rag_bot_config.yml").write_text('colang_version: "2.x"\n')
    assert find_bot_config(tmp_path) == tmp_path / "rag_bot_config.yml"
    assert find_bot_config(ROOT / "bots" / "rag") is None  # a Voxline bot


def test_a_malformed_co_file_names_the_file_line_and_column_at_load(tmp_path):
    main = 'import core\n\nflow main\n  user said something\n  bot say "unclosed\n'
    folder = bot_folder(tmp_path, main)
    with pytest.raises(BotError) as err:
        load_bot(folder)
    message = str(err.value)
    assert f"{folder / 'colang' / 'main.co'}:5:" in message
    assert 'bot say "unclosed' in message  # the offending line, with a caret under it
    assert "^" in message


def test_other_configuration_errors_are_clear(tmp_path):
    with pytest.raises(BotError, match=r'colang_version must be "2.x"'):
        load_bot(bot_folder(tmp_path / "a", "flow main\n  pass\n", "colang_version: 1.0\n"))
    with pytest.raises(ColangConfigError, match="no `flow main`"):
        load_colang_config(bot_folder(tmp_path / "b", "flow other\n  pass\n"))
    folder = bot_folder(tmp_path / "c", "import nothing_like_it\nflow main\n  pass\n")
    with pytest.raises(ColangConfigError, match="import nothing_like_it"):
        load_colang_config(folder)


def test_a_comment_indented_deeper_than_its_block_is_accepted(tmp_path):
    # ACE's tutorial main.co has one; the Colang parser alone rejects it.
    main = 'import core\n\nflow main\n activate rag\n     # a comment\n\nflow rag\n bot say "hi"\n'
    folder = bot_folder(tmp_path, main)
    assert "rag" in {flow.name for flow in load_colang_config(folder).flows}


def test_the_design_fixture_loads_and_the_sample_has_its_main_co(tmp_path):
    fixture = ROOT / "tests" / "fixtures" / "ace_design_bot"
    shutil.copytree(fixture, tmp_path / "bot")
    assert load_bot(tmp_path / "bot").agent == "colang"
    sample = (ACE_RAG / "colang" / "main.co").read_bytes()
    assert (fixture / "colang" / "main.co").read_bytes() == sample  # the same text


def tr(kind: TranscriptKind, text: str) -> Transcript:
    return Transcript(kind, text, 0.0)


def test_transcripts_become_one_utterance_user_action_per_utterance():
    users = umim.UserUtterances()
    first = users.transcript(tr(TranscriptKind.PARTIAL, "how long"))
    assert [e["type"] for e in first] == [
        "UtteranceUserActionStarted",
        "UtteranceUserActionTranscriptUpdated",
    ]
    uid = first[0]["action_uid"]
    assert first[1]["interim_transcript"] == "how long" and first[1]["stability"] == 0.0
    assert users.transcript(tr(TranscriptKind.PARTIAL, "how long")) == []  # a repeat
    (interim,) = users.transcript(tr(TranscriptKind.INTERIM, "how long is it"))
    assert interim["stability"] == 1.0 and interim["action_uid"] == uid
    (final,) = users.transcript(tr(TranscriptKind.FINAL, " How long is it? "))
    assert final["type"] == "UtteranceUserActionFinished"
    assert (final["final_transcript"], final["action_uid"], final["is_success"]) == (
        "How long is it?", uid, True,
    )  # fmt: skip
    assert users.transcript(tr(TranscriptKind.FINAL, "")) == []  # no utterance is open
    again = users.transcript(tr(TranscriptKind.FINAL, "hi"))
    assert [e["type"] for e in again] == [
        "UtteranceUserActionStarted",
        "UtteranceUserActionFinished",
    ]
    assert again[0]["action_uid"] != uid


def test_bot_utterance_events_and_acknowledged_actions():
    stopped = umim.bot_finished("a1", "The frame is", stopped=True)
    assert stopped["was_stopped"] and not stopped["is_success"]
    assert stopped["final_script"] == "The frame is"
    done = umim.bot_finished("a1", "The frame is covered.")
    assert done["is_success"] and "was_stopped" not in done
    start = umim.event("StartGestureBotAction", action_uid="g1", gesture="wave")
    assert [e["type"] for e in umim.acknowledged(start)] == [
        "GestureBotActionStarted",
        "GestureBotActionFinished",
    ]
    stop = umim.stopped(umim.event("StopGestureBotAction", action_uid="g1"))
    assert stop["type"] == "GestureBotActionFinished" and stop["was_stopped"]


def test_dialog_manager_server_names_the_plugin_its_base_is_the_server():
    assert _server_base("http://localhost:9002/rag", "rag") == "http://localhost:9002"
    assert _server_base("http://h:9002/ace/rag/", "rag") == "http://h:9002/ace"
    assert _server_base("http://localhost:9000", "rag") == "http://localhost:9000"


def test_voxline_serve_refuses_to_start_on_a_malformed_co_file(tmp_path):
    import subprocess
    import sys

    folder = bot_folder(tmp_path / "bot", 'import core\n\nflow main\n  bot say "unclosed\n')
    run = subprocess.run(
        [sys.executable, "-m", "voxline", "serve", "--bot", str(folder), "--port", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode != 0
    assert f"{folder / 'colang' / 'main.co'}:4:" in run.stderr
