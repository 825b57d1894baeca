"""Name matching across Arabic and Latin script.

The same person or place reaches a case file written many ways: محمد الكاني, "Mohamed al-Kani", "Mohammed Al Kani";
ترهونة, ترهونه, "Tarhouna", "Tarhuna"; خليفة حفتر, "Khalifa Haftar", "Khalifa Hifter". Investigators must find them
together, so this module gives three levels of sameness:

* `normalize` erases differences that carry no meaning (diacritics, tatweel, letter-form variants, accents, case,
  punctuation). It is for full-text search: apply it to the indexed text *and* to the query.
* `name_key` is a phonetic skeleton that is equal for the usual spellings of one name in either script. It
  deliberately over-matches (al-Kani and al-Kana share a key): it is for recall, "show me everything that might be
  this name", never for deciding on its own that two records are the same person.
* `similarity` / `likely_same` grade a pair, so near-misses of the key can still be suggested for review.

Standard library only, so it also runs in offline tools.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from difflib import SequenceMatcher

__all__ = [
    "fold_latin",
    "likely_same",
    "name_key",
    "normalize",
    "normalize_arabic",
    "search_terms",
    "similarity",
    "transliterate",
]

MAX_TOKEN_LENGTH = 64

# --- Arabic -------------------------------------------------------------------------------------------------------

# Tashkeel/harakat (incl. hamza/madda combining marks, so decomposed أ/آ/ؤ/ئ also fold), superscript alef,
# Quranic annotation marks, and tatweel: none of them changes which name is written.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Invisible direction and joining controls that copy-paste from RTL documents leaves inside words.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Presentation forms come out of PDFs and old software ("ﻣﺤﻤﺪ"); NFKC maps them back to ordinary letters.
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]")

_ARABIC_LETTER_MAP = str.maketrans(
    {
        # Alef forms (hamza above/below, madda, wasla, wavy hamza).
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        # Taa marbuta is written and pronounced as haa often enough (ترهونة / ترهونه) that we never rely on it.
        "ة": "ه",
        "ۃ": "ه",
        # Alef maqsura at word end is interchangeable with yaa in everyday writing (الكانى / الكاني).
        "ى": "ي",
        # Hamza carried on waw / yaa.
        "ؤ": "و",
        "ئ": "ي",
        # Persian/Urdu keyboard variants that look identical on screen.
        "ی": "ي",
        "ې": "ي",
        "ک": "ك",
        "ھ": "ه",
        "ہ": "ه",
        "ۀ": "ه",
        "ە": "ه",
        # Arabic-Indic and Eastern Arabic-Indic digits.
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
    }
)


def _presentation_to_letters(match: re.Match[str]) -> str:
    # .strip(): NFKC turns isolated harakat forms into " " + mark; the space must not split the word.
    return unicodedata.normalize("NFKC", match.group()).strip()


def _clean_arabic(text: str) -> str:
    """Remove what is invisible or decorative in Arabic text, but keep letter identity (hamza forms etc.)."""
    text = _INVISIBLE.sub("", text)
    text = _PRESENTATION_FORMS.sub(_presentation_to_letters, text)
    return _ARABIC_MARKS.sub("", text)


def normalize_arabic(text: str) -> str:
    """Canonical Arabic spelling: no diacritics or tatweel, one form per letter, ASCII digits.

    Writers differ in whether they vocalize, which alef/hamza form they type and whether they end a word with
    ة or ه, ى or ي; a search must not depend on any of that. Non-Arabic characters pass through unchanged.
    """
    return _clean_arabic(text).translate(_ARABIC_LETTER_MAP)


# --- Latin ---------------------------------------------------------------------------------------------------------

# Letters that NFKD does not decompose into base letter + accent.
_LATIN_EXTRA = str.maketrans(
    {"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "þ": "th", "æ": "ae", "œ": "oe", "\u00ad": ""}
)
# Ayn/hamza signs and apostrophes: "Sa'id", "ʿAli", "Qur’an".
_APOSTROPHES = "ʿʾʼʻ'’‘`´′"
_APOSTROPHE_RE = re.compile(f"[{_APOSTROPHES}]")
# Hyphens, dashes and the minus sign.
_HYPHEN_RE = re.compile("[-\u2010-\u2015\u2212\ufe63\uff0d]")
_LATIN_SEPARATORS = re.compile(f"[{_APOSTROPHES}\u2010-\u2015\u2212\ufe63\uff0d_.-]")


def _fold_letters(text: str) -> str:
    """NFKD, drop combining marks, casefold: the letter-level part of folding, punctuation untouched."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return text.casefold().translate(_LATIN_EXTRA)


def fold_latin(text: str) -> str:
    """Accent-, case- and punctuation-insensitive Latin text ("Ṭarhūna" → "tarhuna", "al-Kani" → "al kani").

    Transliterations of Arabic differ in academic marks (ṭ ū ʿ), apostrophes and hyphenation of the article;
    none of them should make a search miss.
    """
    text = _LATIN_SEPARATORS.sub(" ", _fold_letters(text))
    return " ".join(text.split())


def normalize(text: str) -> str:
    """Full-text normalization for both scripts. Apply the same function to indexed text and to queries."""
    return fold_latin(normalize_arabic(text))


# --- Transliteration -----------------------------------------------------------------------------------------------

# One Latin spelling per (normalized) Arabic letter, chosen to look like the common English spellings of Libyan
# names. Ayn becomes "a" because English spellings write it as a vowel (عمر Omar, سعد Saad, عبد Abd); hamza is
# dropped. Short vowels are not written in Arabic, so none appear here.
_TRANSLIT_MAP = str.maketrans(
    {
        "ا": "a",
        "ء": "",
        "ب": "b",
        "ت": "t",
        "ث": "th",
        "ج": "j",
        "ح": "h",
        "خ": "kh",
        "د": "d",
        "ذ": "dh",
        "ر": "r",
        "ز": "z",
        "س": "s",
        "ش": "sh",
        "ص": "s",
        "ض": "d",
        "ط": "t",
        "ظ": "z",
        "ع": "a",
        "غ": "gh",
        "ف": "f",
        "ق": "q",
        "ك": "k",
        "ل": "l",
        "م": "m",
        "ن": "n",
        "ه": "h",
        "و": "w",
        "ي": "y",
        # Letters of neighbouring orthographies (Persian, Maghrebi) seen in names.
        "پ": "p",
        "چ": "ch",
        "ژ": "zh",
        "ڤ": "v",
        "ڨ": "g",
        "گ": "g",
        "ڭ": "g",
        # Arabic punctuation.
        "،": ",",
        "؛": ";",
        "؟": "?",
        "٪": "%",
        "٫": ".",
        "٬": ",",
    }
)


def transliterate(text: str) -> str:
    """Lowercase Latin skeleton of Arabic text (محمد → "mhmd", الكاني → "alkany"); Latin text is folded.

    Consonant-only like the Arabic it comes from; `name_key` then reduces Latin spellings to the same skeleton.
    """
    return fold_latin(normalize_arabic(text).translate(_TRANSLIT_MAP))


# --- Name key ------------------------------------------------------------------------------------------------------

# Definite article written joined to an Arabic word, with a bare alef or alef wasla. أل/إل are not the article
# (إلهام, ألفت), so detection runs before alef forms are unified; at least two letters must remain.
_ARABIC_ARTICLE = re.compile(r"(?<!\w)[اٱ]ل(?=\w\w)")
_LATIN_ARTICLES = frozenset({"al", "el", "il", "ul"})
# Sun-letter assimilated article, only when hyphenated onto a word starting with the same consonant:
# ar-Rahman, as-Sayyid, ash-Sharif, ad-Din, an-Nasr, at-Tayeb, az-Zawi, ath-Thani.
_ASSIMILATED_ARTICLE = re.compile(r"[aeiu](?:[tdrzsn]|sh|th|dh)")
# "Abdel Rahman", "Abdulrahman", "Abd al-Rahman", "Abdurrahman", عبدالرحمن: split the servant-of prefix off.
_ABD_PREFIX = re.compile(r"abd(?:[aeiou]?l|[aeiou](?=([b-df-hj-np-tv-z])\1))")
_WORD_ALIASES = {
    # ابن / بن: "ibn", "bin", "ben".
    **dict.fromkeys(("ibn", "ebn", "abn", "bn", "ben"), "bin"),
    # أبو / بو (Libyan "Bu"): "Abu", "Abou", "Bu", "Bou".
    **dict.fromkeys(("abu", "abou", "abo", "abw", "bu", "bou", "bw"), "abu"),
    # "Abd Allah", "Abdel Allah" → same as the joined/Arabic forms, whose article was already dropped.
    "allah": "lah",
}
# Arabizi ("7aftar", "sa3d", "9adhafi"): digits standing for letters, only inside words that contain letters.
_ARABIZI = str.maketrans({"2": "", "3": "a", "5": "kh", "6": "t", "7": "h", "9": "q"})
_ARABIZI_WORD = re.compile(r"(?=.*[a-z])(?=.*[0-9])[a-z235679]+")
# Consonant spellings that differ between English, French and Italian transliteration. One left-to-right pass,
# so "ch" → "sh" is not then read as "c" → "k". g, q, c, k all become k: Libyan Arabic says ق as g, which is why
# Gaddafi / Qaddafi / Kadhafi / Gheddafi all name القذافي.
_CONSONANT_SPELLINGS = {
    "ph": "f",
    "ch": "sh",
    "dj": "j",
    "ck": "k",
    "q": "k",
    "c": "k",
    "g": "k",
    "p": "b",
    "v": "f",
    "x": "ks",
}
_CONSONANT_RE = re.compile("|".join(sorted(_CONSONANT_SPELLINGS, key=len, reverse=True)))
_VOWELS_RE = re.compile("[aeiouwy]")
# h after t/d/s/k is the second half of th, dh, sh, kh, gh: the digraph collapses to its base letter, so "Fathi"
# and فتحي, "Mukhtar" and مختار, "Ishaq" and إسحاق meet however the writer split the letters.
_WEAK_H = re.compile("(?<=[tdsk])h")
_REPEATS = re.compile(r"(.)\1+")


def _drop_articles(chunk: str) -> list[str]:
    """Split a hyphenated chunk into words and drop the article parts."""
    parts = [p for p in chunk.split("-") if p]
    kept = []
    for i, part in enumerate(parts):
        if part in _LATIN_ARTICLES:
            continue
        following = parts[i + 1] if i + 1 < len(parts) else ""
        if _ASSIMILATED_ARTICLE.fullmatch(part) and following.startswith(part[1:]):
            continue
        kept.append(part)
    return kept


def _expand_word(word: str) -> list[str]:
    """Canonical spelling of name particles (ibn, abu, Abd-al-…) before the skeleton is taken."""
    if _ARABIZI_WORD.fullmatch(word):
        word = word.translate(_ARABIZI)
    word = re.sub("[^a-z]", "", word)
    if not word:
        return []
    match = _ABD_PREFIX.match(word)
    if match:
        rest = word[match.end() :]
        if not rest:
            return ["abd"]
        if len(rest) >= 2:
            return ["abd", *_expand_word(rest)]
    return [_WORD_ALIASES.get(word, word)]


def _skeleton(word: str) -> str:
    """Consonant skeleton of one folded Latin word; a leading vowel survives as "a"."""
    word = _CONSONANT_RE.sub(lambda m: _CONSONANT_SPELLINGS[m.group()], word)
    # Arabic does not write short vowels, so only their presence at the start is comparable (Omar / Umar / عمر).
    head = "a" if word[0] in "aeiou" else word[0]
    body = _VOWELS_RE.sub("", word[1:])
    word = _REPEATS.sub(r"\1", _WEAK_H.sub("", head + body))
    # Final h is usually taa marbuta (خليفة Khalifa) or a spelling flourish (Abdallah / Abdalla).
    if len(word) > 1 and word.endswith("h"):
        word = word[:-1]
    return word


def name_key(text: str) -> str:
    """Spelling-insensitive skeleton of a name, equal for its usual variants in Arabic and Latin script.

    "Mohamed al-Kani", "Mohammed Al Kani" and "محمد الكاني" all give "mhmd kn". Steps: drop the article (ال, al-,
    el-, ar-R…); transliterate Arabic; fold Latin; unify consonant spellings; keep a word-initial vowel as "a" and
    drop all other vowels (w and y included, since Arabic writes long vowels with و/ي); collapse doubled letters.
    Word order is kept: `similarity` handles reordering.
    """
    text = _clean_arabic(unicodedata.normalize("NFC", text))
    text = _ARABIC_ARTICLE.sub("", text)
    text = text.translate(_ARABIC_LETTER_MAP).translate(_TRANSLIT_MAP)
    text = _APOSTROPHE_RE.sub("", _fold_letters(text))  # "Sa'id" is one word, not "sa id".
    text = _HYPHEN_RE.sub("-", text)
    text = re.sub(r"[^a-z0-9-]+", " ", text)
    keys: list[str] = []
    for chunk in text.split():
        for word in _drop_articles(chunk):
            keys.extend(_skeleton(w) for w in _expand_word(word))
    return " ".join(k for k in keys if k)


# --- Comparison ----------------------------------------------------------------------------------------------------


_MAX_TOKEN_PAIRS = 1024


def _ratio(a: str, b: str) -> float:
    """difflib ratio, made symmetric (SequenceMatcher's matching blocks depend on argument order)."""
    if a == b:
        return 1.0
    return max(SequenceMatcher(None, a, b, autojunk=False).ratio(), SequenceMatcher(None, b, a, autojunk=False).ratio())


def _token_match(a: list[str], b: list[str]) -> float:
    """Soft Dice over tokens: order-free, and extra tokens on either side lower the score.

    Tokens are paired greedily by best ratio (names have a handful of tokens, so this is cheap and near-optimal).
    """
    if not a or not b:
        return 0.0
    if len(a) * len(b) > _MAX_TOKEN_PAIRS:  # Long texts, not names: exact token overlap keeps this linear.
        common = sum((Counter(a) & Counter(b)).values())
        return 2 * common / (len(a) + len(b))
    pairs = sorted(((_ratio(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    total = 0.0
    for score, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            total += score
    return 2 * total / (len(a) + len(b))


def similarity(a: str, b: str) -> float:
    """How alike two names are, in [0, 1], whatever the script, spelling or word order.

    The maximum of: the ratio of the name keys, an order-free token match of the keys, and the ratio of the
    normalized texts (which still sees vowels, so it can rescue names whose keys are too short to compare).
    Empty or content-free input compares as 0.0: nothing to match is not a match.
    """
    norm_a, norm_b = normalize(a), normalize(b)
    key_a, key_b = name_key(a), name_key(b)
    scores = [0.0]
    if norm_a and norm_b:
        scores.append(_ratio(norm_a, norm_b))
    if key_a and key_b:
        scores.append(_ratio(key_a, key_b))
        scores.append(_token_match(key_a.split(), key_b.split()))
    return max(scores)


def likely_same(a: str, b: str, threshold: float = 0.85) -> bool:
    """Whether two names are similar enough to suggest they are the same, for a human to confirm."""
    return similarity(a, b) >= threshold


def search_terms(text: str) -> list[str]:
    """Index/query tokens: each normalized word plus the name-key tokens, de-duplicated, in order.

    The key tokens are what let a query "al-Kani" find an indexed "الكاني" (both yield "kn"); the normalized
    words keep exact-word search precise. Tokens are capped at 64 characters.
    """
    words = re.findall(r"\w+", normalize(text))
    tokens = [t[:MAX_TOKEN_LENGTH] for t in (*words, *name_key(text).split()) if t]
    return list(dict.fromkeys(tokens))
