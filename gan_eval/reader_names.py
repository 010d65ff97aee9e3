"""Reader names: one person is one reader, whatever case, width or invisible characters they type.

A reader signs in by typing a name, and their ratings are stored under it. Without care, "Bob",
"bob", "BOB", "bob" with a zero-width space and "bob" with a Cyrillic "о" would be five readers,
weighting one person five times in the qualitative score and splitting their progress. So a
name is normalised for display (:func:`normalise_reader`) and compared by a case-folded key
(:func:`reader_key`); a name mixing alphabets is refused, since a look-alike letter cannot be
told from the real one and guessing would merge or split readers silently.
"""

from __future__ import annotations

import unicodedata

MAX_READER_NAME = 100
# Scripts that legitimately share one name (Unicode TS #39, "highly restrictive"): Japanese,
# Chinese and Korean names with Latin initials or titles. Any other mix is refused.
_SCRIPT_MIXES = (frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}), frozenset({"LATIN", "HAN", "BOPOMOFO"}),
                 frozenset({"LATIN", "HAN", "HANGUL"}))


def normalise_reader(name: str) -> str:
    """The reader's name as shown and stored: invisible format characters (category Cf: zero-width
    spaces and joiners, soft hyphens, bidirectional overrides) removed, Unicode NFKC (full-width
    and other compatibility forms become plain letters), runs of white space made one space.

    Raises ValueError for an empty name, one longer than MAX_READER_NAME, one with control
    characters, or one mixing scripts. Case is kept for display; :func:`reader_key` is the
    identity.
    """
    clean = _clean(name) if isinstance(name, str) else ""
    if not clean:
        raise ValueError(f"Reader name must be a non-empty string, got {name!r}.")
    if len(clean) > MAX_READER_NAME:
        raise ValueError(f"Reader name {clean[:20]!r}... is {len(clean)} characters long; "
                         f"use at most {MAX_READER_NAME}.")
    if any(unicodedata.category(ch) == "Cc" for ch in clean):
        raise ValueError(f"Reader name {name!r} contains control characters; type a plain name.")
    scripts = {script for script in map(_script, clean) if script}
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_MIXES):
        raise ValueError(
            f"Reader name {name!r} mixes letters of several scripts "
            f"({', '.join(sorted(s.title() for s in scripts))}); type it in one alphabet: a look-alike "
            "letter from another one would make it a different reader."
        )
    return clean


def reader_key(name: str) -> str:
    """Who a reader is: the case-folded cleaned name, so "Bob", "BOB" and "bob" with a zero-width
    space are one reader. Not validated, so that names stored before normalisation still match;
    validate what a reader types with :func:`normalise_reader`."""
    return unicodedata.normalize("NFKC", _clean(name).casefold())


def _clean(name: str) -> str:
    # Format characters go first, so that NFKC composes the letters they separated.
    text = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _script(ch: str) -> str | None:
    """The script of a letter, from the first word of its Unicode name (the standard library has
    no Script property; this is close enough to tell alphabets apart); None for anything else."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    word = unicodedata.name(ch, "").split(" ", 1)[0]
    if word in ("CJK", "IDEOGRAPHIC"):
        return "HAN"
    if word in ("", "MODIFIER", "KATAKANA-HIRAGANA"):  # letters shared by several scripts
        return None
    return word
