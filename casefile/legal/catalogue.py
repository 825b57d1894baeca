"""The legal catalogue: legal frameworks, their offences (or sanctions designation criteria),
modes of liability, and the elements that evidence must prove.

The catalogue is reference data shipped inside the package as YAML files in
``casefile/legal/catalogue/`` (one file per framework; a data directory, deliberately without
``__init__.py``, read through :mod:`importlib.resources` so that it also works from an installed
wheel as long as ``catalogue/*.yaml`` is declared as package data of ``casefile.legal``).
It is read-only at run time, loaded once per process by :func:`load_catalogue`, and validated
on load. The database refers to catalogue items only by their ``code``, so **codes are
permanent**: never rename, renumber, reuse or delete one. Correct a text freely; to change
what an item means, add a new item (or element) with a new code.

Vocabulary
==========
* A *framework* is a body of law: a criminal statute (``kind: criminal``, e.g. the Rome
  Statute) or a sanctions regime (``kind: sanctions``, e.g. E.O. 13818).
* An *offence* is a crime (criminal frameworks) or a designation criterion (sanctions
  frameworks). Both are exposed as :class:`Offence` so that charges work uniformly.
* A *contextual group* is a list of elements shared by several offences (the chapeau of
  crimes against humanity, the armed-conflict nexus of war crimes). An offence that names a
  group requires the group's elements in addition to its own.
* A *mode of liability* is the way an accused is linked to the crime (ordering, command
  responsibility, ...). Sanctions frameworks normally have none; a sanctions charge uses
  no mode.
* An *element* is one fact to be proved. ``kind`` is ``material`` (conduct, consequence or
  circumstance), ``mental`` (intent, knowledge, purpose), ``contextual`` (an element of a
  contextual group) or ``criterion`` (an element of a sanctions designation criterion).

YAML schema
===========
Every ``*.yaml`` / ``*.yml`` file in the catalogue directory holds one framework::

    code: rome                        # framework code: lower-case letters/digits and hyphens
    title: Rome Statute of the International Criminal Court
    kind: criminal                    # criminal | sanctions
    reference: "Rome Statute (1998), as amended"
    note: "..."                       # optional free text for users of the catalogue

    contextual_groups:                # optional
      - code: rome-7-ctx              # must start with "<framework code>-"
        title: Contextual elements of crimes against humanity
        reference: "art. 7(1), 7(2)(a)"
        elements:                     # every element here must have kind: contextual
          - {code: rome-7-ctx.e1, kind: contextual, text: "...", reference: "art. 7(1)"}

    offences:                         # sanctions frameworks may call this key `criteria`
      - code: rome-7-1-a              # must start with "<framework code>-"
        title: Murder as a crime against humanity
        reference: "art. 7(1)(a)"
        contextual: rome-7-ctx        # optional: code of a contextual group of this framework
        note: "..."                   # optional
        elements:                     # kinds: material | mental | criterion
          - code: rome-7-1-a.e1       # must be "<parent code>.e<number>"
            kind: material
            text: "The perpetrator killed one or more persons."
            reference: "EoC art. 7(1)(a), element 1"

    modes_of_liability:               # optional; same shape as offences, without `contextual`
      - code: rome-28-a
        title: Command responsibility of military commanders
        reference: "art. 28(a)"
        elements: [...]

Validation (on every load; failures raise :class:`CatalogueError`, whose message names the
file and the offending code):

* only the keys above are allowed, and no mapping may repeat a key;
* every ``code``, ``title``, ``reference`` and element ``text`` is a non-empty string;
* codes are unique across the whole catalogue (all files, all item types);
* item codes start with ``<framework code>-``; element codes are ``<parent code>.e<N>``;
* element kinds are valid for where the element sits (``contextual`` only, and always, in
  contextual groups);
* every ``contextual`` reference names a contextual group of the same framework;
* every framework has at least one offence and every item at least one element.

Translations (Arabic)
=====================
Every user-visible text has an Arabic form, kept beside its framework file in ``<name>.ar.yaml`` (for
``rome_statute.yaml``, ``rome_statute.ar.yaml``): one flat mapping from a permanent code to that item's Arabic
texts, with the same field names as the English file::

    rome:                             # a framework
      title: نظام روما الأساسي للمحكمة الجنائية الدولية
      reference: "..."
      note: "..."                     # only where the English has a note
    rome-7-1-a:                       # a contextual group, offence, criterion or mode of liability
      title: القتل العمد بوصفه جريمة ضد الإنسانية
      reference: "المادة 7(1)(أ)؛ أركان الجرائم، المادة 7(1)(أ)"
    rome-7-1-a.e1:                    # an element
      text: "..."
      reference: "..."

They are loaded into the ``*_ar`` fields of the items (``title_ar``, ``text_ar``, ``reference_ar``, ``note_ar``;
the API's ``GET /legal/frameworks`` therefore carries them beside the English), and shown through
:meth:`~_Plain.localised` (``{{ offence|legal('title') }}`` on the pages, the dossier PDF in its language). A
translation file may name only codes of its own framework and only the fields the English item has; an item
without Arabic falls back to its English text, and tests/legal/test_catalogue_arabic.py fails on any code
without its Arabic. The Arabic is **Casefile's working translation**, written with the terminology of the
official Arabic texts of the Rome Statute (نظام روما الأساسي) and of the Elements of Crimes (أركان الجرائم) but not
copied from them: like the English paraphrases, it must be checked against the official Arabic versions before
anything is filed, and the pages and PDFs that show it say so (``casefile.labels.CATALOGUE_TRANSLATION_NOTICE``).

API
===
``load_catalogue()`` returns the packaged :class:`Catalogue` (cached). ``load_catalogue_dir(path)``
validates and loads any directory, uncached (used by tests and by tooling that checks edits).
Look-ups by code (:meth:`Catalogue.framework`, :meth:`~Catalogue.offence`, :meth:`~Catalogue.mode`,
:meth:`~Catalogue.element`, ...) raise :class:`KeyError` for an unknown code, because an unknown
code coming from the database is a data error that must not pass silently; test membership with
``code in catalogue`` first when a code may legitimately be absent. Frameworks are ordered
criminal first, then sanctions, each group by file name; items keep their order in the file.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "ELEMENT_KINDS",
    "FRAMEWORK_KINDS",
    "LANGUAGES",
    "Catalogue",
    "CatalogueError",
    "ContextualGroup",
    "Element",
    "Framework",
    "ModeOfLiability",
    "Offence",
    "load_catalogue",
    "load_catalogue_dir",
]

ELEMENT_KINDS = ("material", "mental", "contextual", "criterion")
#: Languages the catalogue is translated into, besides English (the ``<name>.<language>.yaml`` files).
LANGUAGES = ("ar",)

FRAMEWORK_KINDS = ("criminal", "sanctions")

#: Package holding the catalogue data directory, and the directory's name inside it.
_DATA_PACKAGE = "casefile.legal"
_DATA_DIR = "catalogue"

_CODE_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ELEMENT_SUFFIX_RE = re.compile(r"e[1-9][0-9]*")

_FRAMEWORK_KEYS = frozenset(
    {
        "code",
        "title",
        "kind",
        "reference",
        "note",
        "contextual_groups",
        "offences",
        "criteria",
        "modes_of_liability",
    }
)
_GROUP_KEYS = frozenset({"code", "title", "reference", "elements"})
_OFFENCE_KEYS = frozenset({"code", "title", "reference", "contextual", "note", "elements"})
_MODE_KEYS = frozenset({"code", "title", "reference", "note", "elements"})
_ELEMENT_KEYS = frozenset({"code", "kind", "text", "reference"})

_T = TypeVar("_T")


class _Plain:
    """``to_dict()``: every field, nested items as dicts and tuples as lists (JSON-shaped, for the API);
    ``localised(name, language)``: a text in a language, English when it has no translation."""

    def to_dict(self: DataclassInstance) -> dict[str, Any]:  # a mixin of dataclasses only
        return _json_shaped(dataclasses.asdict(self))

    def localised(self, name: str, language: str) -> str:
        """``title``, ``text``, ``reference`` or ``note`` in ``language`` (``"ar"``, ``"en"``, ``"ar_EG"``…)."""
        english = str(getattr(self, name))
        code = language.split("_")[0].split("-")[0]
        if code in LANGUAGES:
            return str(getattr(self, f"{name}_{code}", "") or english)
        return english


def _json_shaped(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_shaped(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_json_shaped(item) for item in value]
    return value


class CatalogueError(ValueError):
    """The catalogue data is malformed. The message names the file and, where known, the code."""


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Element(_Plain):
    """One fact to be proved. ``kind`` is one of :data:`ELEMENT_KINDS`."""

    code: str
    text: str
    kind: str
    reference: str
    text_ar: str = ""
    reference_ar: str = ""


@dataclass(frozen=True)
class ContextualGroup(_Plain):
    """Elements shared by several offences of one framework (e.g. the crimes-against-humanity chapeau)."""

    code: str
    title: str
    reference: str
    framework_code: str
    elements: tuple[Element, ...]
    title_ar: str = ""
    reference_ar: str = ""


@dataclass(frozen=True)
class Offence(_Plain):
    """A crime, or a sanctions designation criterion.

    ``elements`` are the offence's own elements; ``contextual_elements`` are those of its
    contextual group (empty if none). :attr:`all_elements` is what must be proved.
    """

    code: str
    title: str
    reference: str
    framework_code: str
    elements: tuple[Element, ...]
    contextual_elements: tuple[Element, ...] = ()
    contextual_group: str | None = None
    note: str = ""
    title_ar: str = ""
    reference_ar: str = ""
    note_ar: str = ""

    @property
    def all_elements(self) -> tuple[Element, ...]:
        """Contextual elements first, then the offence's own, in catalogue order."""
        return self.contextual_elements + self.elements


@dataclass(frozen=True)
class ModeOfLiability(_Plain):
    """A way of being criminally responsible for an offence (e.g. ordering, command responsibility)."""

    code: str
    title: str
    reference: str
    framework_code: str
    elements: tuple[Element, ...]
    note: str = ""
    title_ar: str = ""
    reference_ar: str = ""
    note_ar: str = ""


@dataclass(frozen=True)
class Framework(_Plain):
    """A body of law: a criminal statute or a sanctions regime."""

    code: str
    title: str
    kind: str
    reference: str
    offences: tuple[Offence, ...]
    modes_of_liability: tuple[ModeOfLiability, ...] = ()
    contextual_groups: tuple[ContextualGroup, ...] = ()
    note: str = ""
    title_ar: str = ""
    reference_ar: str = ""
    note_ar: str = ""

    @property
    def is_sanctions(self) -> bool:
        return self.kind == "sanctions"


@dataclass(frozen=True)
class Catalogue:
    """All frameworks, with look-ups by code. Look-ups raise :class:`KeyError` for unknown codes."""

    frameworks: tuple[Framework, ...]
    _frameworks: Mapping[str, Framework] = field(init=False, repr=False, compare=False)
    _offences: Mapping[str, Offence] = field(init=False, repr=False, compare=False)
    _modes: Mapping[str, ModeOfLiability] = field(init=False, repr=False, compare=False)
    _groups: Mapping[str, ContextualGroup] = field(init=False, repr=False, compare=False)
    _elements: Mapping[str, Element] = field(init=False, repr=False, compare=False)
    _parents: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        frameworks: dict[str, Framework] = {}
        offences: dict[str, Offence] = {}
        modes: dict[str, ModeOfLiability] = {}
        groups: dict[str, ContextualGroup] = {}
        elements: dict[str, Element] = {}
        parents: dict[str, str] = {}
        for fw in self.frameworks:
            frameworks[fw.code] = fw
            owners: list[ContextualGroup | Offence | ModeOfLiability] = [
                *fw.contextual_groups,
                *fw.offences,
                *fw.modes_of_liability,
            ]
            for owner in owners:
                for el in owner.elements:
                    elements[el.code] = el
                    parents[el.code] = owner.code
            groups.update((g.code, g) for g in fw.contextual_groups)
            offences.update((o.code, o) for o in fw.offences)
            modes.update((m.code, m) for m in fw.modes_of_liability)
        object.__setattr__(self, "_frameworks", frameworks)
        object.__setattr__(self, "_offences", offences)
        object.__setattr__(self, "_modes", modes)
        object.__setattr__(self, "_groups", groups)
        object.__setattr__(self, "_elements", elements)
        object.__setattr__(self, "_parents", parents)

    # -- look-ups ------------------------------------------------------------------------------

    def framework(self, code: str) -> Framework:
        return _lookup(self._frameworks, code, "framework")

    def offence(self, code: str) -> Offence:
        """An offence or designation criterion."""
        return _lookup(self._offences, code, "offence")

    def mode(self, code: str) -> ModeOfLiability:
        return _lookup(self._modes, code, "mode of liability")

    def contextual_group(self, code: str) -> ContextualGroup:
        return _lookup(self._groups, code, "contextual group")

    def element(self, code: str) -> Element:
        return _lookup(self._elements, code, "element")

    def element_parent(self, code: str) -> str:
        """Code of the contextual group, offence or mode of liability that defines the element."""
        return _lookup(self._parents, code, "element")

    def framework_of(self, code: str) -> Framework:
        """The framework containing the item or element ``code`` (or the framework itself)."""
        if code in self._frameworks:
            return self._frameworks[code]
        owner_code = self._parents.get(code, code)
        item = self._offences.get(owner_code) or self._modes.get(owner_code) or self._groups.get(owner_code)
        if item is None:
            raise KeyError(f"unknown catalogue code {code!r}")
        return self._frameworks[item.framework_code]

    def elements_to_prove(self, offence_code: str, mode_code: str = "") -> list[tuple[str, Element]]:
        """Every element a charge of this offence under this mode must prove, each with its group
        ("contextual", "offence" or "mode"), in catalogue order. No mode: the offence's elements only."""
        offence = self.offence(offence_code)
        rows = [("contextual", e) for e in offence.contextual_elements]
        rows += [("offence", e) for e in offence.elements]
        if mode_code:
            rows += [("mode", e) for e in self.mode(mode_code).elements]
        return rows

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and (
            code in self._frameworks
            or code in self._offences
            or code in self._modes
            or code in self._groups
            or code in self._elements
        )

    # -- iteration -----------------------------------------------------------------------------

    @property
    def offences(self) -> tuple[Offence, ...]:
        return tuple(self._offences.values())

    @property
    def modes_of_liability(self) -> tuple[ModeOfLiability, ...]:
        return tuple(self._modes.values())

    def iter_elements(self) -> Iterator[Element]:
        """Every element once (contextual-group elements are not repeated per offence)."""
        return iter(self._elements.values())

    def codes(self) -> frozenset[str]:
        """Every code in the catalogue: frameworks, groups, offences, modes and elements."""
        return frozenset([*self._frameworks, *self._groups, *self._offences, *self._modes, *self._elements])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable representation, for the API."""
        return {"frameworks": [fw.to_dict() for fw in self.frameworks]}


def _lookup(table: Mapping[str, _T], code: str, what: str) -> _T:
    try:
        return table[code]
    except KeyError:
        raise KeyError(f"unknown {what} code {code!r}") from None


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------


@functools.cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package, validated and cached for the process."""
    return load_catalogue_dir(resources.files(_DATA_PACKAGE) / _DATA_DIR)


def load_catalogue_dir(directory: Traversable | str | os.PathLike[str]) -> Catalogue:
    """Validate and load every ``*.yaml``/``*.yml`` file in ``directory`` (not cached)."""
    root: Traversable = Path(directory) if isinstance(directory, str | os.PathLike) else directory
    if not root.is_dir():
        raise CatalogueError(f"{root}: catalogue directory not found")
    entries = {entry.name: entry for entry in root.iterdir() if entry.is_file()}
    files = sorted(name for name in entries if name.endswith((".yaml", ".yml")) and _translation_of(name) is None)
    if not files:
        raise CatalogueError(f"{root}: no catalogue files (*.yaml) found")
    orphans = sorted(name for name in entries if (of := _translation_of(name)) is not None and of[0] not in entries)
    if orphans:
        raise CatalogueError(f"{orphans[0]}: a translation without its framework file")
    builder = _Builder()
    for name in files:
        stem, suffix = name.rsplit(".", 1)
        translations = {
            language: _translations(entries[f"{stem}.{language}.{suffix}"])
            for language in LANGUAGES
            if f"{stem}.{language}.{suffix}" in entries
        }
        builder.add_file(name, entries[name].read_text(encoding="utf-8"), translations)
    return builder.finish()


def _translation_of(name: str) -> tuple[str, str] | None:
    """For ``x.ar.yaml``: (``x.yaml``, ``ar``); None for a framework file."""
    parts = name.split(".")
    if len(parts) == 3 and parts[1] in LANGUAGES and parts[2] in ("yaml", "yml"):
        return f"{parts[0]}.{parts[2]}", parts[1]
    return None


def _translations(entry: Traversable) -> tuple[str, dict[str, dict[str, str]]]:
    """A translation file: code -> {field: text}, every text a non-empty string."""
    source = entry.name
    data = _parse_yaml(source, entry.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: top level must be a mapping from codes to translated texts")
    result: dict[str, dict[str, str]] = {}
    for code, fields in data.items():
        if not isinstance(fields, dict) or not fields:
            raise CatalogueError(f"{source}: {code}: must map field names to translated texts")
        result[str(code)] = {str(key): _text(source, str(code), fields, str(key)) for key in fields}
    return source, result


class _Builder:
    """Validates framework files one by one; :meth:`finish` runs the cross-file checks."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}  # code -> file that defined it
        self._frameworks: list[tuple[str, Framework]] = []
        self._translations: dict[str, tuple[str, dict[str, dict[str, str]]]] = {}  # language -> (file, texts)

    def _translated(self, code: str, data: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, str]:
        """The ``<field>_<language>`` texts of an item: only fields its English has, from its own file."""
        found: dict[str, str] = {}
        for language, (source, texts) in self._translations.items():
            given = texts.pop(code, {})
            for key in given:
                if key not in fields or not data.get(key):
                    raise CatalogueError(f"{source}: {code}: no English {key!r} to translate")
            found.update({f"{key}_{language}": value for key, value in given.items()})
        return found

    def finish(self) -> Catalogue:
        ordered = sorted(self._frameworks, key=lambda item: (item[1].kind != "criminal", item[0]))
        return Catalogue(tuple(fw for _, fw in ordered))

    def add_file(
        self, source: str, text: str, translations: Mapping[str, tuple[str, dict[str, dict[str, str]]]] | None = None
    ) -> None:
        self._translations = {language: (file, dict(texts)) for language, (file, texts) in (translations or {}).items()}
        data = _parse_yaml(source, text)
        if not isinstance(data, dict):
            raise CatalogueError(f"{source}: top level must be a mapping describing one framework")
        _check_keys(source, "framework", data, _FRAMEWORK_KEYS)
        code = self._code(source, data, "framework", required_prefix=None)
        title = _text(source, code, data, "title")
        kind = _text(source, code, data, "kind")
        if kind not in FRAMEWORK_KINDS:
            raise CatalogueError(f"{source}: {code}: kind must be one of {', '.join(FRAMEWORK_KINDS)}, not {kind!r}")
        reference = _text(source, code, data, "reference")
        note = _text(source, code, data, "note", required=False)

        groups = tuple(
            self._group(source, code, raw) for raw in _list(source, code, data, "contextual_groups", required=False)
        )
        groups_by_code = {g.code: g for g in groups}

        if "offences" in data and "criteria" in data:
            raise CatalogueError(f"{source}: {code}: use either 'offences' or 'criteria', not both")
        offences_key = "criteria" if "criteria" in data else "offences"
        offences = tuple(
            self._offence(source, code, raw, groups_by_code)
            for raw in _list(source, code, data, offences_key, required=True)
        )
        modes = tuple(
            self._mode(source, code, raw) for raw in _list(source, code, data, "modes_of_liability", required=False)
        )
        framework = Framework(
            code=code,
            title=title,
            kind=kind,
            reference=reference,
            offences=offences,
            modes_of_liability=modes,
            contextual_groups=groups,
            note=note,
            **self._translated(code, data, ("title", "reference", "note")),
        )
        for file, texts in self._translations.values():
            if texts:
                raise CatalogueError(f"{file}: {sorted(texts)[0]}: not a code of framework {code!r} ({source})")
        self._frameworks.append((source, framework))

    # -- items ---------------------------------------------------------------------------------

    def _group(self, source: str, fw_code: str, raw: object) -> ContextualGroup:
        data = _mapping(source, fw_code, raw, "contextual group")
        _check_keys(source, f"contextual group in {fw_code}", data, _GROUP_KEYS)
        code = self._code(source, data, "contextual group", required_prefix=fw_code)
        return ContextualGroup(
            code=code,
            title=_text(source, code, data, "title"),
            reference=_text(source, code, data, "reference"),
            framework_code=fw_code,
            elements=self._elements(source, code, data, allowed_kinds=("contextual",)),
            **self._translated(code, data, ("title", "reference")),
        )

    def _offence(self, source: str, fw_code: str, raw: object, groups: Mapping[str, ContextualGroup]) -> Offence:
        data = _mapping(source, fw_code, raw, "offence")
        _check_keys(source, f"offence in {fw_code}", data, _OFFENCE_KEYS)
        code = self._code(source, data, "offence", required_prefix=fw_code)
        group_code = _text(source, code, data, "contextual", required=False) or None
        if group_code is not None and group_code not in groups:
            raise CatalogueError(
                f"{source}: {code}: contextual group {group_code!r} is not defined in framework {fw_code!r}"
            )
        return Offence(
            code=code,
            title=_text(source, code, data, "title"),
            reference=_text(source, code, data, "reference"),
            framework_code=fw_code,
            elements=self._elements(source, code, data, allowed_kinds=("material", "mental", "criterion")),
            contextual_elements=groups[group_code].elements if group_code else (),
            contextual_group=group_code,
            note=_text(source, code, data, "note", required=False),
            **self._translated(code, data, ("title", "reference", "note")),
        )

    def _mode(self, source: str, fw_code: str, raw: object) -> ModeOfLiability:
        data = _mapping(source, fw_code, raw, "mode of liability")
        _check_keys(source, f"mode of liability in {fw_code}", data, _MODE_KEYS)
        code = self._code(source, data, "mode of liability", required_prefix=fw_code)
        return ModeOfLiability(
            code=code,
            title=_text(source, code, data, "title"),
            reference=_text(source, code, data, "reference"),
            framework_code=fw_code,
            elements=self._elements(source, code, data, allowed_kinds=("material", "mental", "criterion")),
            note=_text(source, code, data, "note", required=False),
            **self._translated(code, data, ("title", "reference", "note")),
        )

    def _elements(
        self, source: str, parent: str, data: Mapping[str, Any], *, allowed_kinds: tuple[str, ...]
    ) -> tuple[Element, ...]:
        result = []
        for raw in _list(source, parent, data, "elements", required=True):
            el = _mapping(source, parent, raw, "element")
            _check_keys(source, f"element of {parent}", el, _ELEMENT_KEYS)
            code = _text(source, parent, el, "code")
            if not code.startswith(parent + ".") or not _ELEMENT_SUFFIX_RE.fullmatch(code[len(parent) + 1 :]):
                raise CatalogueError(
                    f"{source}: {code}: element code must be '{parent}.e<number>' (prefixed by its parent's code)"
                )
            self._claim(source, code)
            kind = _text(source, code, el, "kind")
            if kind not in allowed_kinds:
                raise CatalogueError(
                    f"{source}: {code}: element kind must be one of {', '.join(allowed_kinds)} here, not {kind!r}"
                )
            result.append(
                Element(
                    code=code,
                    text=_text(source, code, el, "text"),
                    kind=kind,
                    reference=_text(source, code, el, "reference"),
                    **self._translated(code, el, ("text", "reference")),
                )
            )
        return tuple(result)

    # -- codes ---------------------------------------------------------------------------------

    def _code(self, source: str, data: Mapping[str, Any], what: str, *, required_prefix: str | None) -> str:
        code = _text(source, f"<{what} without code>", data, "code")
        if not _CODE_RE.fullmatch(code):
            raise CatalogueError(
                f"{source}: {code}: {what} code must be lower-case letters and digits separated by hyphens"
            )
        if required_prefix is not None and not code.startswith(required_prefix + "-"):
            raise CatalogueError(f"{source}: {code}: {what} code must start with '{required_prefix}-'")
        self._claim(source, code)
        return code

    def _claim(self, source: str, code: str) -> None:
        if code in self._seen:
            raise CatalogueError(f"{source}: {code}: duplicate code (already defined in {self._seen[code]})")
        self._seen[code] = source


# -- small validation helpers --------------------------------------------------------------------


def _parse_yaml(source: str, text: str) -> object:
    try:
        _reject_duplicate_keys(source, yaml.compose(text, Loader=yaml.SafeLoader))
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{source}: invalid YAML: {exc}") from exc


def _reject_duplicate_keys(source: str, node: yaml.Node | None) -> None:
    """PyYAML silently keeps the last of two equal keys; a catalogue must never do that."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    line = key_node.start_mark.line + 1
                    raise CatalogueError(f"{source}: line {line}: duplicate key {key_node.value!r}")
                seen.add(key_node.value)
            _reject_duplicate_keys(source, value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(source, item)


def _check_keys(source: str, where: str, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        code = data.get("code") if isinstance(data.get("code"), str) else where
        raise CatalogueError(f"{source}: {code}: unknown key(s) {', '.join(unknown)}")


def _mapping(source: str, parent: str, raw: object, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{source}: {parent}: each {what} must be a mapping")
    return raw


def _list(source: str, code: str, data: Mapping[str, Any], key: str, *, required: bool) -> list[Any]:
    value = data.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise CatalogueError(f"{source}: {code}: '{key}' must be a non-empty list")
    return value


def _text(source: str, code: str, data: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{source}: {code}: '{key}' must be a non-empty string")
    return value.strip()
