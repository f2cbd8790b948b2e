from voxline.sentences import SentenceSplitter


def stream(text: str, step: int = 1) -> list[str]:
    s = SentenceSplitter()
    out = []
    for i in range(0, len(text), step):
        out += s.push(text[i : i + step])
    return out + s.flush()


def test_first_clause_goes_early_then_sentences():
    text = "Sure thing, a large pepperoni pizza. What crust would you like? Thin or thick."
    assert stream(text) == [
        "Sure thing,",
        "a large pepperoni pizza.",
        "What crust would you like?",
        "Thin or thick.",
    ]


def test_first_segment_is_cut_after_a_handful_of_words_without_punctuation():
    segments = stream("I can certainly help you place an order for a pizza today. Okay.")
    assert segments[0] == "I can certainly help you place an order"
    assert segments[1] == "for a pizza today."


def test_abbreviations_and_numbers_do_not_end_sentences():
    text = "Hi. Dr. Smith paid 17.49 dollars at 5 p.m. on St. James Street. Thanks."
    assert stream(text, step=3) == [
        "Hi.",
        "Dr. Smith paid 17.49 dollars at 5 p.m. on St. James Street.",
        "Thanks.",
    ]


def test_text_given_at_once_splits_the_same_way():
    text = "Got it, large and pepperoni. And which crust: thin, regular, thick or stuffed?"
    assert stream(text, step=len(text)) == [
        "Got it,",
        "large and pepperoni.",
        "And which crust: thin, regular, thick or stuffed?",
    ]


def test_long_sentences_break_at_a_clause():
    words = " ".join(f"w{i}," if i % 8 == 7 else f"w{i}" for i in range(40))
    segments = stream("Ok. " + words + ".")
    assert all(len(s.split()) <= 31 for s in segments)
    assert " ".join(segments).split() == ("Ok. " + words + ".").split()


def test_a_one_word_opening_clause_goes_alone():
    # "Sure," as its own segment: TTS starts 4 tokens earlier than on "Sure, a large pepperoni."
    assert stream("Sure, a large pepperoni. Which crust would you like?", step=4) == [
        "Sure,",
        "a large pepperoni.",
        "Which crust would you like?",
    ]


def test_the_first_clause_waits_for_the_space_after_its_comma():
    s = SentenceSplitter()
    assert s.push("Okay,") == []  # "Okay,000" would not be a clause
    assert s.push(" one") == ["Okay,"]


def test_commas_inside_numbers_are_not_clause_ends():
    assert stream("It has 1,200 calories, roughly. Anything else?") == [
        "It has 1,200 calories,",
        "roughly.",
        "Anything else?",
    ]


def test_only_the_first_segment_is_cut_at_a_clause():
    segments = stream("Right, so that is a large, thin crust, with ham. Anything else, sir?")
    assert segments == [
        "Right,",
        "so that is a large, thin crust, with ham.",
        "Anything else, sir?",
    ]


def test_hurry_cuts_at_the_last_clause_or_whole_word():
    s = SentenceSplitter()
    assert s.push("Okay, ") == ["Okay,"]
    assert s.push("I have put one large pepp") == []
    assert s.hurry() == ["I have put one large"]  # "pepp" may not be a whole word yet
    assert s.push("eroni, with extra ch") == []
    assert s.hurry() == ["pepperoni, with extra"]
    assert SentenceSplitter().hurry() == []
