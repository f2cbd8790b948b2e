"""Tool-call parsing and the speech filter: no markup is ever released, text is released early."""

from __future__ import annotations

import pytest

from voxline.agents.tool_markup import (
    MarkupFilter,
    ParsedCall,
    ToolCallAssembler,
    json_object_end,
    parse_arguments,
)

ORDER = '{"size": "large", "toppings": ["ham", "pineapple"], "crust": "thin"}'
ARGS = {"size": "large", "toppings": ["ham", "pineapple"], "crust": "thin"}


def run(content: str, step: int) -> tuple[str, list[str], list[ParsedCall]]:
    """Feed ``content`` in pieces of ``step`` characters; return speech, its pieces, calls."""
    f = MarkupFilter()
    pieces = [f.feed(content[i : i + step]) for i in range(0, len(content), step)]
    pieces.append(f.close())
    return "".join(pieces), pieces, f.calls


STEPS = [1, 2, 3, 5, 1000]


@pytest.mark.parametrize("step", STEPS)
def test_function_form_is_cut_out_and_the_rest_spoken(step: int) -> None:
    content = f"Great choice! <function=process_pizza_order>{ORDER}</function> One moment."
    speech, pieces, calls = run(content, step)
    assert speech == "Great choice!  One moment."
    assert calls == [ParsedCall("process_pizza_order", ARGS, form="function")]
    assert not any("<" in p or "{" in p for p in pieces)


@pytest.mark.parametrize("step", STEPS)
def test_function_form_without_closing_tag(step: int) -> None:
    speech, _, calls = run(f"<function=process_pizza_order>{ORDER} Placing it now.", step)
    assert speech == " Placing it now."
    assert calls[0].arguments == ARGS


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("key", ["parameters", "arguments"])
def test_json_call_at_message_start(step: int, key: str) -> None:
    content = f'  {{"name": "process_pizza_order", "{key}": {ORDER}}}'
    speech, _, calls = run(content, step)
    assert speech == ""
    assert calls == [ParsedCall("process_pizza_order", ARGS, form="json")]


@pytest.mark.parametrize("step", STEPS)
def test_python_tag_json_calls_and_special_tokens(step: int) -> None:
    first, second = '{"name": "a", "parameters": {}}', f'{{"name": "b", "parameters": {ORDER}}}'
    content = f"<|python_tag|>{first}; {second}<|eom_id|>"
    speech, _, calls = run(content, step)
    assert speech == ""
    assert [(c.name, c.arguments) for c in calls] == [("a", {}), ("b", ARGS)]


@pytest.mark.parametrize("step", STEPS)
def test_json_arguments_given_as_a_string(step: int) -> None:
    content = '{"type": "function", "name": "f", "parameters": "{\\"size\\": \\"small\\"}"}'
    _, _, calls = run(content, step)
    assert calls == [ParsedCall("f", {"size": "small"}, form="json")]


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize(
    "content",
    [
        "I have 3 < 4 pizzas, a <b> tag and {braces} here.",
        '{"size": "large"} is what you said?',
        "{laughs} Sure thing!",
        "Ratio 1 <| 2 done.",
        "The <fun part is <functional.",
    ],
)
def test_ordinary_text_passes_unchanged(step: int, content: str) -> None:
    speech, _, calls = run(content, step)
    assert speech == content
    assert calls == []


@pytest.mark.parametrize("step", STEPS)
def test_leaked_special_tokens_and_stray_tags_are_dropped(step: int) -> None:
    speech, _, _ = run("Hello there.<|eot_id|> Bye </function>now<|eot", step)
    assert speech == "Hello there. Bye now"


def test_text_is_released_before_the_sentence_ends() -> None:
    f = MarkupFilter()
    assert f.feed("Sure") == "Sure"
    assert f.feed(", what size <") == ", what size "  # only the "<" is held back
    assert f.pending == "<"
    assert f.feed("3 inches?") == "<3 inches?"
    assert f.feed(" <|") == " "
    assert f.feed("eot_id|> ok") == " ok"


def test_a_json_call_is_held_only_while_it_can_still_be_one() -> None:
    f = MarkupFilter()
    assert f.feed('{"na') == ""
    assert f.feed('me": "x", "parameters": {}}') == ""
    assert f.calls[0].name == "x"
    g = MarkupFilter()
    assert g.feed('{"') == ""
    assert g.feed("si") == '{"si'  # no call key starts with "si": released at once
    assert g.feed('ze": 1} right?') == 'ze": 1} right?'


def test_a_json_call_only_counts_at_the_start_of_the_message() -> None:
    speech, _, calls = run('Okay. {"name": "f", "parameters": {}}', 3)
    assert calls == []  # mid-sentence JSON is text (Llama's JSON form opens the message)
    assert speech.startswith("Okay.")


def test_invalid_arguments_become_an_error_call() -> None:
    _, _, calls = run("<function=process_pizza_order>{'size': 'large'}</function>", 4)
    assert calls[0].name == "process_pizza_order"
    assert calls[0].arguments == {}
    assert calls[0].error and "not valid JSON" in calls[0].error


def test_cut_off_calls_become_error_calls() -> None:
    speech, _, calls = run('Sure. <function=f>{"size": "lar', 3)
    assert speech == "Sure. "
    assert calls[0].name == "f" and calls[0].error
    _, _, calls = run('{"name": "g", "parameters": {"size"', 3)
    assert calls[0].name == "g" and calls[0].error


def test_function_form_with_empty_arguments() -> None:
    _, _, calls = run("<function=hang_up></function>Bye!", 2)
    assert calls == [ParsedCall("hang_up", {}, form="function")]


def test_parse_arguments() -> None:
    assert parse_arguments(None) == ({}, None)
    assert parse_arguments("") == ({}, None)
    assert parse_arguments('{"a": 1}') == ({"a": 1}, None)
    assert parse_arguments({"a": 1}) == ({"a": 1}, None)
    assert parse_arguments("[1]")[1] == "the arguments must be a JSON object"
    assert "not valid JSON" in (parse_arguments("{oops")[1] or "")


def test_json_object_end_respects_strings() -> None:
    assert json_object_end('{"a": "}{\\"}"} tail') == 14
    assert json_object_end('{"a": [1, {"b": 2}]}') == 20
    assert json_object_end('{"a": "x') is None


def test_assembler_joins_fragments_per_index() -> None:
    a = ToolCallAssembler()
    a.add(0, "call_1", "process_pizza_order", "")
    a.add(1, "call_2", "other", '{"x"')
    for piece in ['{"size": ', '"large", "toppings": ["ham", "pineapple"], ', '"crust": "thin"}']:
        a.add(0, None, None, piece)
    a.add(1, None, None, ": 1}")
    assert a.calls() == [
        ParsedCall("process_pizza_order", ARGS, id="call_1"),
        ParsedCall("other", {"x": 1}, id="call_2"),
    ]


def test_assembler_without_indexes_and_with_bad_json() -> None:
    a = ToolCallAssembler()
    assert not a
    a.add(None, "c1", "f", '{"a": ')
    a.add(None, None, None, "1}")
    a.add(None, "c2", "g", "{nope")
    calls = a.calls()
    assert [(c.id, c.name, c.arguments) for c in calls] == [("c1", "f", {"a": 1}), ("c2", "g", {})]
    assert calls[1].error
