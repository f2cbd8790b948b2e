"""What a reply cut off still had to say."""

from voxline.reply import Reply


def test_unheard_is_what_was_made_after_the_last_segment_heard():
    reply = Reply(1, "what toppings do you have")
    reply.said = ["For toppings,", "we have cheese and ham.", "What size would you like?"]
    assert reply.unheard() == reply.said
    reply.heard = ["For toppings,"]
    assert reply.unheard() == reply.said[1:]
    reply.heard = reply.said[:]
    assert reply.unheard() == []


def test_a_segment_never_heard_before_a_heard_one_is_not_said_again():
    reply = Reply(1, None)
    reply.said = ["One.", "Two.", "Three.", "Four."]
    reply.heard = ["One.", "Three."]  # "Two." failed to synthesize
    assert reply.unheard() == ["Four."]
