"""Words that carry no menu meaning: never heard as a slot value, whatever they sound like.

A recognizer's near miss ("on a" for "onion", "him" for "ham", "them" for "thin") must not
become a slot, so both the recognizer's choice among its hypotheses and the dialog's near-miss
proposals skip these.
"""

FUNCTION_WORDS = frozenset(
    """
    a an the and or but of on in at to for with without from by it its it's is are was be been i
    i'd i'll i'm me my mine you your we our us they them their he him she her this that these
    those there here what which who how when where why can could would should will shall do does
    did have has had get got want like need please just also too so then than now no not yes
    yeah yep okay ok sure thanks thank make made change one two three four five some any all
    both each more much many little very really actually back order pizza pizzas crust size
    topping toppings instead again say said sorry hello hi bye well right left good great cancel
    remove add take off hold put give read tell let know think mean sounds
    """.split()  # noqa: SIM905
)
