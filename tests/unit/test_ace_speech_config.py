"""ACE speech_config.yaml keys map onto Voxline's backend, turn and voice settings."""

import shutil

import yaml

from tests.conftest import PIZZA
from voxline.ace.speech_config import ace_settings
from voxline.bot import load_bot
from voxline.config import load_settings

ACE = {
    "riva_asr": {
        "RivaASR": {
            "server": "asr-nim:50051",
            "endpointing_stop_history": 1000,
            "endpointing_stop_history_eou": 300,
        }
    },
    "riva_tts": {"RivaTTS": {"server": "tts-nim:50052", "voice_name": "English-US.Male-1"}},
    "dialog_manager": {"DialogManager": {"server": "http://plugins:9002/rag"}},
}


def test_nested_ace_keys():
    ace = ace_settings(ACE)
    assert ace.backends == {
        "riva_asr_server": "asr-nim:50051",
        "asr": "riva",
        "riva_tts_server": "tts-nim:50052",
        "tts": "riva",
    }
    assert ace.turns == {"stop_history_ms": 1000, "stop_history_eou_ms": 300}
    assert ace.voice == {"name": "English-US.Male-1"}
    assert ace.dialog_manager == {"server": "http://plugins:9002/rag"}


def test_flat_keys_too():
    assert ace_settings({"riva_asr": {"endpointing_stop_history_eou": 200}}).turns == {
        "stop_history_eou_ms": 200
    }


def test_a_bot_folder_with_speech_config_yaml(tmp_path):
    folder = tmp_path / "pizza"
    shutil.copytree(PIZZA, folder)
    (folder / "speech_config.yaml").write_text(yaml.safe_dump(ACE))
    spec = yaml.safe_load((folder / "bot.yaml").read_text())
    spec["turns"] = {"mode": "interim", "stop_history_ms": 900}  # bot.yaml wins over ACE
    (folder / "bot.yaml").write_text(yaml.safe_dump(spec))
    bot = load_bot(folder)
    assert bot.turns.stop_history_ms == 900 and bot.turns.stop_history_eou_ms == 300
    assert bot.voice.name == "English-US.Male-1"
    assert bot.spec["dialog_manager"] == {"server": "http://plugins:9002/rag"}
    settings = load_settings(env={}, bot_backends=bot.backends)
    assert (settings.asr, settings.tts) == ("riva", "riva")
    assert settings.riva_asr_server == "asr-nim:50051"
    # The environment still wins (12-factor).
    env = {"VOXLINE_ASR": "embedded", "VOXLINE_RIVA_ASR_SERVER": "other:1"}
    settings = load_settings(env=env, bot_backends=bot.backends)
    assert settings.asr == "embedded" and settings.riva_asr_server == "other:1"
