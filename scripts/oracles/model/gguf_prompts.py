"""Prompts for the default-model references. Texts written for this project; the refs store the
token ids, so the C++ tests never need a tokenizer to use them."""

CHAT_QUESTION = "What is the capital of France? Answer in one short sentence."

LONG_PASSAGE = """\
The lighthouse at the end of the northern breakwater was built in the winter of a year that the
harbour records describe only as "the cold one". Its keepers kept logbooks, and those books are
the reason anyone still remembers how the place worked. Every evening, half an hour before
sunset, the keeper climbed one hundred and twelve steps, trimmed the wick, polished the brass
and the great glass lens, and wound the clockwork that turned the light. The mechanism had to be
wound every four hours through the night, so the keeper slept in short pieces, like a sailor on
watch. On clear nights the beam could be seen from almost twenty miles away; on foggy nights it
could barely be seen from the end of the pier, and the keeper rang a bell instead, one stroke
every thirty seconds, until the fog lifted or the morning came.

The logbooks are plain. They record the weather at six in the evening and six in the morning,
the amount of oil burned, the ships that passed close enough to be named, and anything that went
wrong. Things went wrong often. Gulls broke the outer windows. Salt ate the hinges of the iron
door. One spring the clockwork jammed because a mouse had built a nest inside the casing, and
the keeper turned the lens by hand for six hours, counting the seconds aloud so that the flashes
would keep their pattern. Ships relied on that pattern: each lighthouse on the coast had its own
rhythm of light and dark, and a captain who counted the flashes could tell which headland he was
looking at, even when he could see nothing else.

Supplies came by boat once a month when the sea allowed it, and not at all when it did not. The
keepers learned to keep three months of oil, flour, salt fish, potatoes and candles in the store
room under the stairs. They grew onions and cabbages in a walled garden on the landward side,
where the wind was weaker. Several keepers brought their families, and the children went to
school in the village by walking along the breakwater at low tide, a path that was safe for two
hours on either side of the lowest water and dangerous at every other time. One logbook entry
notes, without comment, that the keeper's daughter had been made to stay in the village for three
days because a storm had come early.

Electric lamps arrived many years later, and with them a motor that turned the lens without
anyone winding it. The keepers stayed for a while to look after the machines, and then the
machines were trusted to look after themselves. The last keeper left on a calm morning in
September. He wrote the weather in the logbook as usual, drew a line under the entry, and
added a single sentence: the light is in good order. The building is a small museum now. Visitors
climb the same one hundred and twelve steps, look at the lens, which still turns, and read the
logbooks in a glass case, where the pages are turned to a new entry every week.
"""

MULTILINGUAL = (
    "Le petit train part à huit heures et demie, mais il arrive souvent en retard. "
    "Die Katze schläft auf der warmen Fensterbank, während draußen der Regen fällt. "
    "El mercado abre los sábados por la mañana y cierra al mediodía. "
    "Зимой в этом городе темнеет очень рано, и улицы быстро пустеют. "
    "我们明天早上去图书馆借几本关于天文学的书。 "
    "今日は朝から雨が降っていますが、午後には晴れるそうです。 "
    "الطقس اليوم معتدل والسماء صافية. "
    "Η θάλασσα ήταν ήρεμη όλο το απόγευμα. 🙂🚂"
)

CODE = '''\
def merge_sorted(a, b):
    """Merge two sorted lists into one sorted list in O(len(a) + len(b))."""
    i = j = 0
    out = []
    while i < len(a) and j < len(b):
        if a[i] <= b[j]:
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    out.extend(a[i:])
    out.extend(b[j:])
    return out


if __name__ == "__main__":
    print(merge_sorted([1, 4, 9], [2, 3, 10, 11]))
'''

# (name, kind, content): kind "chat" renders the model's chat template with a generation prompt.
PROMPTS = [
    ("chat_question", "chat", CHAT_QUESTION),
    ("long_passage", "text", LONG_PASSAGE),
    ("multilingual", "text", MULTILINGUAL),
    ("code", "text", CODE),
]
