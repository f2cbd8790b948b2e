"""How alike two words sound and look: the measure of a recognizer's near miss.

The metaphone keys' edit distance (sound) and Jaro-Winkler (spelling), averaged: "pepperony"
~ pepperoni, "hem" ~ ham, "cuffed" ~ stuffed.
"""

import jellyfish


def similarity(heard: str, phrase: str) -> float:
    sound_a, sound_b = jellyfish.metaphone(heard), jellyfish.metaphone(phrase)
    longest = max(len(sound_a), len(sound_b), 1)
    sound = 1 - jellyfish.levenshtein_distance(sound_a, sound_b) / longest
    return 0.5 * sound + 0.5 * jellyfish.jaro_winkler_similarity(heard, phrase)
