"""Tests for the legal catalogue (casefile/legal/catalogue.py and its YAML data)."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

import casefile.legal
from casefile.legal.catalogue import (
    ELEMENT_KINDS,
    Catalogue,
    CatalogueError,
    load_catalogue,
    load_catalogue_dir,
)

DATA_DIR = Path(casefile.legal.__file__).parent / "catalogue"

REQUIRED_OFFENCES = [
    # Rome Statute, art. 7 (crimes against humanity)
    "rome-7-1-a",
    "rome-7-1-b",
    "rome-7-1-d",
    "rome-7-1-e",
    "rome-7-1-f",
    "rome-7-1-g-1",
    "rome-7-1-h",
    "rome-7-1-i",
    "rome-7-1-k",
    # Rome Statute, art. 8(2)(c) (common article 3)
    "rome-8-2-c-i-1",
    "rome-8-2-c-i-3",
    "rome-8-2-c-i-4",
    "rome-8-2-c-ii",
    "rome-8-2-c-iii",
    "rome-8-2-c-iv",
    # Rome Statute, art. 8(2)(e)
    "rome-8-2-e-i",
    "rome-8-2-e-v",
    "rome-8-2-e-vi-1",
    "rome-8-2-e-viii",
    "rome-8-2-e-xii",
    # Sanctions criteria (exposed as offences)
    "eo13818-1-a-ii-a",
    "eo13818-1-a-ii-c-1",
    "eo13818-1-a-iii-a-1",
    "eo13818-1-a-iii-b-own",
    "eo13818-1-a-iii-b-act",
    "unsc-libya-ihl-hr",
    "unsc-libya-threat",
    "unsc-libya-attacks",
    "unsc-libya-armed-group-leader",
    "eughr-responsible",
    "eughr-support",
    "eughr-associated",
]

REQUIRED_MODES = [
    "rome-25-3-a",
    "rome-25-3-b",
    "rome-25-3-c",
    "rome-25-3-d",
    "rome-28-a",
    "rome-28-b",
]

# Codes are stored in the database and must never change. This snapshot lists every item
# with its number of elements (elements are coded "<item>.e1" ... "<item>.eN"). It may only
# grow: add new items and raise counts when elements are appended, never remove or lower.
CODE_SNAPSHOT = {
    # rome
    "rome-7-ctx": 4,
    "rome-8-2-c-ctx": 4,
    "rome-8-2-e-ctx": 2,
    "rome-7-1-a": 2,
    "rome-7-1-b": 3,
    "rome-7-1-d": 4,
    "rome-7-1-e": 4,
    "rome-7-1-f": 4,
    "rome-7-1-g-1": 3,
    "rome-7-1-g-2": 3,
    "rome-7-1-g-6": 4,
    "rome-7-1-h": 5,
    "rome-7-1-i": 6,
    "rome-7-1-k": 4,
    "rome-8-2-c-i-1": 2,
    "rome-8-2-c-i-3": 2,
    "rome-8-2-c-i-4": 3,
    "rome-8-2-c-ii": 3,
    "rome-8-2-c-iii": 3,
    "rome-8-2-c-iv": 4,
    "rome-8-2-e-i": 3,
    "rome-8-2-e-v": 3,
    "rome-8-2-e-vi-1": 3,
    "rome-8-2-e-vi-6": 4,
    "rome-8-2-e-viii": 4,
    "rome-8-2-e-xii": 6,
    "rome-25-3-a": 2,
    "rome-25-3-a-co": 5,
    "rome-25-3-a-ind": 4,
    "rome-25-3-a-ind-co": 6,
    "rome-25-3-b": 4,
    "rome-25-3-b-si": 3,
    "rome-25-3-c": 4,
    "rome-25-3-d": 5,
    "rome-28-a": 5,
    "rome-28-b": 6,
    # eughr
    "eughr-responsible": 3,
    "eughr-support": 3,
    "eughr-associated": 3,
    # eo13818
    "eo13818-1-a-ii-a": 3,
    "eo13818-1-a-ii-b-1": 4,
    "eo13818-1-a-ii-b-2": 4,
    "eo13818-1-a-ii-c-1": 4,
    "eo13818-1-a-ii-c-2": 3,
    "eo13818-1-a-ii-d": 2,
    "eo13818-1-a-iii-a-1": 2,
    "eo13818-1-a-iii-a-2": 2,
    "eo13818-1-a-iii-a-3": 2,
    "eo13818-1-a-iii-b-own": 2,
    "eo13818-1-a-iii-b-act": 2,
    "eo13818-1-a-iii-c": 1,
    # unsc-libya
    "unsc-libya-1970-hr": 3,
    "unsc-libya-agent": 3,
    "unsc-libya-arms-embargo": 3,
    "unsc-libya-threat": 3,
    "unsc-libya-ihl-hr": 3,
    "unsc-libya-attacks": 3,
    "unsc-libya-resources": 3,
    "unsc-libya-state-funds": 2,
    "unsc-libya-sgbv": 3,
    "unsc-libya-armed-group-leader": 3,
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


# -- the shipped catalogue ------------------------------------------------------------------------


def test_loads_the_four_frameworks(catalogue: Catalogue) -> None:
    codes = [fw.code for fw in catalogue.frameworks]
    assert sorted(codes) == ["eo13818", "eughr", "rome", "unsc-libya"]
    assert codes[0] == "rome"  # criminal frameworks come first
    assert catalogue.framework("rome").kind == "criminal"
    for code in ("eo13818", "eughr", "unsc-libya"):
        framework = catalogue.framework(code)
        assert framework.kind == "sanctions"
        assert framework.is_sanctions
        assert framework.offences, "sanctions criteria are exposed as offences"
        assert framework.modes_of_liability == ()


def test_load_catalogue_is_cached(catalogue: Catalogue) -> None:
    assert load_catalogue() is catalogue


def test_directory_loader_reads_the_same_data(catalogue: Catalogue) -> None:
    assert load_catalogue_dir(DATA_DIR).to_dict() == catalogue.to_dict()
    assert load_catalogue_dir(str(DATA_DIR)).to_dict() == catalogue.to_dict()


@pytest.mark.parametrize("code", REQUIRED_OFFENCES)
def test_required_offences_exist(catalogue: Catalogue, code: str) -> None:
    offence = catalogue.offence(code)
    assert offence.code == code
    assert offence.elements


@pytest.mark.parametrize("code", REQUIRED_MODES)
def test_required_modes_exist(catalogue: Catalogue, code: str) -> None:
    mode = catalogue.mode(code)
    assert mode.framework_code == "rome"
    assert mode.elements


def test_every_sanctions_framework_has_criteria(catalogue: Catalogue) -> None:
    for prefix in ("eo13818-", "unsc-libya-", "eughr-"):
        assert any(code.startswith(prefix) for code in REQUIRED_OFFENCES)


def test_code_snapshot_is_preserved(catalogue: Catalogue) -> None:
    for item_code, count in CODE_SNAPSHOT.items():
        assert item_code in catalogue, f"catalogue code {item_code} has disappeared"
        for n in range(1, count + 1):
            element_code = f"{item_code}.e{n}"
            assert element_code in catalogue, f"element code {element_code} has disappeared"
            assert catalogue.element_parent(element_code) == item_code


def test_murder_cah_includes_the_four_contextual_elements(catalogue: Catalogue) -> None:
    murder = catalogue.offence("rome-7-1-a")
    assert murder.contextual_group == "rome-7-ctx"
    contextual = [e.code for e in murder.contextual_elements]
    assert contextual == ["rome-7-ctx.e1", "rome-7-ctx.e2", "rome-7-ctx.e3", "rome-7-ctx.e4"]
    assert all(e.kind == "contextual" for e in murder.contextual_elements)
    assert [e.code for e in murder.all_elements] == [*contextual, "rome-7-1-a.e1", "rome-7-1-a.e2"]
    texts = " ".join(e.text for e in murder.contextual_elements).lower()
    for phrase in ("widespread or systematic", "civilian population", "policy", "part of", "knew"):
        assert phrase in texts


def test_every_crime_against_humanity_shares_the_contextual_group(catalogue: Catalogue) -> None:
    group = catalogue.contextual_group("rome-7-ctx")
    cah = [o for o in catalogue.framework("rome").offences if o.code.startswith("rome-7-1-")]
    assert len(cah) >= 9
    for offence in cah:
        assert offence.contextual_elements == group.elements


def test_niac_war_crimes_have_their_contextual_elements(catalogue: Catalogue) -> None:
    summary_execution = catalogue.offence("rome-8-2-c-iv")
    assert summary_execution.contextual_group == "rome-8-2-c-ctx"
    status = catalogue.element("rome-8-2-c-ctx.e3").text
    assert "hors de combat" in status
    assert catalogue.offence("rome-8-2-e-v").contextual_group == "rome-8-2-e-ctx"
    assert "not of an international character" in catalogue.element("rome-8-2-e-ctx.e1").text


def test_command_responsibility_effective_control_element(catalogue: Catalogue) -> None:
    e1 = catalogue.element("rome-28-a.e1")
    assert "effective command and control" in e1.text
    assert catalogue.element_parent("rome-28-a.e1") == "rome-28-a"
    texts = " ".join(e.text for e in catalogue.mode("rome-28-a").elements)
    assert "should have" in texts
    assert "necessary and reasonable measures" in texts
    assert "failure to exercise control properly" in texts
    assert "consciously disregarded" in " ".join(e.text for e in catalogue.mode("rome-28-b").elements)


def test_codes_are_unique(catalogue: Catalogue) -> None:
    seen: list[str] = []
    for fw in catalogue.to_dict()["frameworks"]:
        seen.append(fw["code"])
        for item in (*fw["contextual_groups"], *fw["offences"], *fw["modes_of_liability"]):
            seen.append(item["code"])
            seen.extend(e["code"] for e in item["elements"])
    assert len(seen) == len(set(seen))
    assert set(seen) == catalogue.codes()


def test_every_element_has_text_reference_and_valid_kind(catalogue: Catalogue) -> None:
    elements = list(catalogue.iter_elements())
    assert len(elements) > 100
    for element in elements:
        assert element.text.strip(), element.code
        assert element.reference.strip(), element.code
        assert element.kind in ELEMENT_KINDS, element.code
    for offence in catalogue.offences:
        assert offence.title and offence.reference
        for element in offence.elements:
            assert element.code.startswith(offence.code + ".e")


def test_criminal_items_state_material_and_mental_elements(catalogue: Catalogue) -> None:
    rome = catalogue.framework("rome")
    for item in (*rome.offences, *rome.modes_of_liability):
        kinds = {e.kind for e in item.elements}
        assert "material" in kinds, item.code
        assert "mental" in kinds, item.code


def test_sanctions_elements_are_criteria(catalogue: Catalogue) -> None:
    for fw in catalogue.frameworks:
        if fw.is_sanctions:
            for offence in fw.offences:
                assert {e.kind for e in offence.all_elements} == {"criterion"}, offence.code


def test_lookups(catalogue: Catalogue) -> None:
    assert "rome-7-1-a" in catalogue
    assert "rome-7-1-a.e1" in catalogue
    assert "no-such-code" not in catalogue
    assert catalogue.framework_of("rome-28-a.e1").code == "rome"
    assert catalogue.framework_of("rome-7-ctx.e2").code == "rome"
    assert catalogue.framework_of("unsc-libya-ihl-hr").code == "unsc-libya"
    with pytest.raises(KeyError, match="no-such-code"):
        catalogue.offence("no-such-code")
    with pytest.raises(KeyError):
        catalogue.mode("rome-7-1-a")  # an offence, not a mode
    with pytest.raises(KeyError):
        catalogue.element("rome-7-1-a")  # an offence, not an element
    with pytest.raises(KeyError):
        catalogue.framework_of("no-such-code")


def test_items_are_immutable(catalogue: Catalogue) -> None:
    element = catalogue.element("rome-7-1-a.e1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        element.text = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue.offence("rome-7-1-a").title = "changed"  # type: ignore[misc]


def test_to_dict_is_json_serialisable(catalogue: Catalogue) -> None:
    data = json.loads(json.dumps(catalogue.to_dict()))
    rome = next(fw for fw in data["frameworks"] if fw["code"] == "rome")
    murder = next(o for o in rome["offences"] if o["code"] == "rome-7-1-a")
    assert murder["framework_code"] == "rome"
    assert murder["contextual_group"] == "rome-7-ctx"
    assert len(murder["contextual_elements"]) == 4
    assert murder["elements"][0]["code"] == "rome-7-1-a.e1"
    assert {"code", "text", "kind", "reference"} <= set(murder["elements"][0])


# -- validation --------------------------------------------------------------------------------

VALID = textwrap.dedent(
    """\
    code: demo
    title: Demo statute
    kind: criminal
    reference: "Demo Act 2020"
    contextual_groups:
      - code: demo-ctx
        title: Context
        reference: "s. 1"
        elements:
          - code: demo-ctx.e1
            kind: contextual
            text: There was a context.
            reference: "s. 1(a)"
    offences:
      - code: demo-1
        title: Demo offence
        reference: "s. 2"
        contextual: demo-ctx
        elements:
          - code: demo-1.e1
            kind: material
            text: The person did the act.
            reference: "s. 2(a)"
    modes_of_liability:
      - code: demo-m
        title: Doing it
        reference: "s. 3"
        elements:
          - code: demo-m.e1
            kind: mental
            text: The person meant to do it.
            reference: "s. 3(a)"
    """
)

SECOND_ELEMENT = """\
      - code: demo-1.e1
        kind: material
        text: The person did the act.
        reference: "s. 2(a)"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_directory_loads(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", VALID)
    write(tmp_path, "README.md", "not catalogue data")
    catalogue = load_catalogue_dir(tmp_path)
    offence = catalogue.offence("demo-1")
    assert [e.code for e in offence.all_elements] == ["demo-ctx.e1", "demo-1.e1"]
    assert catalogue.mode("demo-m").elements[0].kind == "mental"


def test_sanctions_framework_may_use_criteria_key(tmp_path: Path) -> None:
    text = (
        VALID.replace("kind: criminal", "kind: sanctions")
        .replace("offences:", "criteria:")
        .replace("kind: material", "kind: criterion")
    )
    write(tmp_path, "demo.yaml", text)
    framework = load_catalogue_dir(tmp_path).framework("demo")
    assert framework.is_sanctions
    assert [o.code for o in framework.offences] == ["demo-1"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(SECOND_ELEMENT, SECOND_ELEMENT * 2, "demo-1.e1: duplicate code", id="duplicate-code"),
        pytest.param("code: demo-1.e1", "code: demo-2.e1", "demo-2.e1: element code", id="element-prefix"),
        pytest.param("code: demo-1.e1", "code: demo-1.x1", "demo-1.x1: element code", id="element-suffix"),
        pytest.param("code: demo-m\n", "code: other-m\n", "other-m: mode of liability code", id="item-prefix"),
        pytest.param("code: demo-1\n", "code: Demo_1\n", "Demo_1: offence code", id="code-syntax"),
        pytest.param("contextual: demo-ctx", "contextual: demo-nope", "demo-1: contextual group", id="context"),
        pytest.param("text: The person did the act.", 'text: "  "', "demo-1.e1: 'text'", id="empty-text"),
        pytest.param('        reference: "s. 2(a)"\n', "", "demo-1.e1: 'reference'", id="missing-reference"),
        pytest.param("title: Demo offence", "title: ''", "demo-1: 'title'", id="empty-title"),
        pytest.param("kind: material", "kind: physical", "demo-1.e1: element kind", id="element-kind"),
        pytest.param("kind: material", "kind: contextual", "demo-1.e1: element kind", id="contextual-kind"),
        pytest.param("kind: criminal", "kind: civil", "demo: kind", id="framework-kind"),
        pytest.param(
            'reference: "s. 2"\n', 'reference: "s. 2"\n    refrence: typo\n', "demo-1: unknown key", id="unknown-key"
        ),
        pytest.param(
            "title: Demo offence\n",
            "title: Demo offence\n    title: Again\n",
            "duplicate key 'title'",
            id="duplicate-yaml-key",
        ),
        pytest.param(
            "modes_of_liability:", "criteria: []\nmodes_of_liability:", "not both", id="offences-and-criteria"
        ),
        pytest.param("title: Demo statute", "title: [Demo statute", "invalid YAML", id="yaml-syntax"),
    ],
)
def test_validator_rejects_broken_catalogue(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert VALID.count(old) == 1, "test setup: the text to replace must occur exactly once"
    write(tmp_path, "broken.yaml", VALID.replace(old, new))
    with pytest.raises(CatalogueError) as excinfo:
        load_catalogue_dir(tmp_path)
    message = str(excinfo.value)
    assert message.startswith("broken.yaml"), message
    assert expected in message, message


def test_validator_rejects_empty_elements(tmp_path: Path) -> None:
    broken = VALID.split("modes_of_liability:")[0] + textwrap.dedent(
        """\
        modes_of_liability:
          - code: demo-m
            title: Doing it
            reference: "s. 3"
            elements: []
        """
    )
    write(tmp_path, "broken.yaml", broken)
    with pytest.raises(CatalogueError, match=r"broken\.yaml: demo-m: 'elements' must be a non-empty list"):
        load_catalogue_dir(tmp_path)


def test_validator_rejects_codes_duplicated_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID)
    write(tmp_path, "b.yaml", VALID)
    with pytest.raises(CatalogueError, match=r"b\.yaml: demo: duplicate code \(already defined in a\.yaml\)"):
        load_catalogue_dir(tmp_path)


def test_validator_rejects_non_mapping_file(tmp_path: Path) -> None:
    write(tmp_path, "list.yaml", "- just\n- a list\n")
    with pytest.raises(CatalogueError, match=r"list\.yaml: top level must be a mapping"):
        load_catalogue_dir(tmp_path)


def test_loader_rejects_empty_or_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no catalogue files"):
        load_catalogue_dir(tmp_path)
    with pytest.raises(CatalogueError, match="not found"):
        load_catalogue_dir(tmp_path / "missing")
