"""Collection names are the official ``ravendb`` client's (SPEC D4; issue 12 §5).

The same class written by the two clients must land in one collection, and HiLo ids take the
lower-cased collection name as their prefix, so the names are compared against the official
client's own convention function over a few hundred class names.
"""

from __future__ import annotations

import enum
import json
import subprocess
import sys

import pytest

from rookdb import DocumentStore
from rookdb.conventions import DocumentConventions, default_collection_name
from rookdb.errors import InvalidCollectionNameError
from rookdb.ids import validate_collection_name

official = pytest.importorskip("ravendb.documents.conventions")


def _words(text: str) -> list[str]:
    return text.split()


# Ordinary nouns, and the kinds the hand-written rules got wrong: Latin and Greek plurals,
# -f/-fe, -o, words that do not change, irregulars, words that already look plural.
NOUNS = _words("""
Employee Company Person Order Product Category Customer Supplier Shipper Region Territory
Invoice Payment Account Address Box Bus Class Glass Dish Church Fox Quiz Buzz Day Key Toy Boy
Guy Story City Party Baby Lady Country Hobby Library Entry Query Reply Survey Journey Monkey
Analysis Thesis Crisis Basis Diagnosis Hypothesis Synopsis Axis Ellipsis Parenthesis Oasis
Datum Medium Curriculum Memorandum Stadium Bacterium Millennium Forum Museum Album Premium
Criterion Phenomenon Automaton Electron Proton Lexicon Skeleton
Alumnus Cactus Fungus Nucleus Radius Stimulus Syllabus Focus Genus Corpus Virus Campus Bonus
Status Census Circus Octopus Platypus Hippopotamus Apparatus Prospectus Walrus Sinus Chorus
Index Matrix Vertex Appendix Apex Vortex Helix Codex Suffix Prefix Annex Reflex
Formula Antenna Larva Vertebra Nebula Alga Agenda Data Criteria Media
Leaf Knife Life Wife Half Calf Shelf Wolf Scarf Dwarf Elf Loaf Self Thief Sheaf Hoof Roof Chief
Proof Belief Chef Cliff Staff Giraffe Safe Cafe Carafe Reef Serf Turf Golf Gulf
Hero Potato Tomato Echo Veto Torpedo Volcano Mosquito Buffalo Domino Tornado Cargo Motto
Piano Photo Radio Zoo Kangaroo Studio Video Memo Logo Auto Solo Kilo Casino Avocado Portfolio
Deer Sheep Fish Moose Salmon Trout Cod Bison Swine Elk Offspring Aircraft Spacecraft Series
Species Chassis Corps News Means Headquarters Crossroads Barracks Gallows Innings Mathematics
Man Woman Child Mouse Goose Foot Tooth Ox Louse Die Penny Brother Cow
Money Information Equipment Rice Feedback Staff Personnel Furniture Luggage Software Homework
Advice Evidence Knowledge Traffic Weather Research Music Bread Water Sugar
Chairman Fireman Postman Businessman Craftsman Human German Talisman Ottoman Shaman
Grandchild Stepchild Godchild Dormouse Titmouse
Person Salesperson Chairperson Spokesperson
Employees Orders Items Things Settings Details Analytics Statistics Metrics Logs Lens Canvas Gas
Atlas Iris Alias Bias Jones James Charles Thomas Mrs Ms Mr Dr
Is Was This That These Those It A An The I My Our One
""")

CAMEL = _words("""
OrderLine SalesPerson LineItem ProductCategory UserAccount BlogPost ShoppingCart CartItem
SearchIndex DataPoint DataSet ResearchAnalysis CustomerAddress TaxStatus LogEntry AuditEntry
FieldCriterion ChartDatum ReportMedium GalleryPhoto KitchenKnife BookShelf FamilyChild
TeamWoman WildGoose WorkingMan CheckBox SyncStatus UserQuiz NewsItem DailyNews FarmDeer
EventSeries AnimalSpecies HttpRequest XmlDocument JsonValue UserId OAuthToken IPAddress
""")

ACRONYMS = _words("""
URL ID SMS GPS CPU DB API HTTPRequest APIKey IPAddress XMLParser HTMLPage SKU VAT UUID PDF JSON
IO UI OS FAQ CEO PO ABC XYZ TCP
""")

DIGITS = _words("""
Item2 Order42 Version1 Address3 Person2 Analysis2 Leaf1 V2 Model3D Box2 Quiz9 Datum0 Child1
Sha256 Md5 Base64 Ipv4 Ipv6 Utf8 Iso8601
""")

NAMES = list(dict.fromkeys(NOUNS + CAMEL + ACRONYMS + DIGITS))


def _official(name: str) -> str:
    return str(official.DocumentConventions.default_get_collection_name(type(name, (), {})))


def _ours_in_a_fresh_interpreter(names: list[str]) -> tuple[list[str], bool]:
    """rookdb's names from a process that never imports the official client, which changes
    ``inflect``'s module-wide defaults when it is imported: rookdb must not depend on that."""
    code = (
        "import json, sys\n"
        "from rookdb.conventions import default_collection_name\n"
        "names = json.load(sys.stdin)\n"
        "out = [default_collection_name(type(n, (), {})) for n in names]\n"
        "json.dump({'names': out, 'official_imported': 'ravendb' in sys.modules}, sys.stdout)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(names),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout)
    return result["names"], result["official_imported"]


def test_the_sample_is_a_few_hundred_names() -> None:
    assert len(NAMES) >= 300


def test_collection_names_are_the_official_clients() -> None:
    ours, official_imported = _ours_in_a_fresh_interpreter(NAMES)
    assert not official_imported
    differ = {
        name: (mine, _official(name))
        for name, mine in zip(NAMES, ours, strict=True)
        if mine != _official(name)
    }
    assert differ == {}


def test_collection_names_do_not_depend_on_the_official_client_being_imported() -> None:
    # Here the official client is imported (it set inflect's defaults); the names are the same.
    differ = {
        name: (default_collection_name(type(name, (), {})), _official(name))
        for name in NAMES
        if default_collection_name(type(name, (), {})) != _official(name)
    }
    assert differ == {}


def test_the_default_convention_is_the_official_naming() -> None:
    conventions = DocumentConventions()
    for name in ("Analysis", "Leaf", "Datum", "Criterion", "Deer", "News", "Quiz"):
        assert conventions.find_collection_name(type(name, (), {})) == _official(name)


# -- the names at work: collections and HiLo prefixes ---------------------------------------


class Analysis:
    def __init__(self, title: str = "") -> None:
        self.title = title


class Leaf:
    def __init__(self, colour: str = "") -> None:
        self.colour = colour


class Criterion:
    def __init__(self, field: str = "") -> None:
        self.field = field


class Employee:
    def __init__(self, name: str = "") -> None:
        self.name = name


@pytest.mark.parametrize(
    ("cls", "collection", "prefix"),
    [
        (Analysis, "Analyses", "analyses/"),
        (Leaf, "Leaves", "leaves/"),
        (Criterion, "Criteria", "criteria/"),
        (Employee, "Employees", "employees/"),  # ordinary names are unchanged
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else v,
)
def test_collections_and_hilo_prefixes_follow_the_official_names(
    store: DocumentStore, cls: type, collection: str, prefix: str
) -> None:
    with store.open_session() as session:
        entity = cls()
        session.store(entity)
        document_id = session.advanced.get_document_id(entity)
        assert document_id.startswith(prefix)
        assert session.advanced.get_metadata_for(entity)["@collection"] == collection
        session.save_changes()
    # The collection's HiLo range is the document Raven/Hilo/<prefix>, in @hilo.
    assert store.maintenance.get_statistics().collections == {collection: 1, "@hilo": 1}
    with store.open_session() as session:
        assert [session.advanced.get_document_id(e) for e in session.query(object_type=cls)] == [
            document_id
        ]


@pytest.mark.rookdb_backends("http")
def test_the_official_client_and_rookdb_share_a_collection(store: DocumentStore) -> None:
    """One class, written by each client through ``rookdb serve``: one collection."""
    import ravendb

    theirs = ravendb.DocumentStore(urls=list(store.urls), database=store.database)
    theirs.initialize()
    try:
        with theirs.open_session() as session:
            session.store(Analysis("by the official client"))
            session.save_changes()
    finally:
        theirs.close()
    with store.open_session() as session:
        session.store(Analysis("by rookdb"))
        session.save_changes()
    assert store.maintenance.get_statistics().collections == {"Analyses": 2, "@hilo": 1}
    with store.open_session() as session:
        titles = sorted(a.title for a in session.query(object_type=Analysis))
    assert titles == ["by rookdb", "by the official client"]


def test_a_str_enum_member_naming_every_document_is_refused_as_a_collection() -> None:
    # ``str()`` of a str enum's member is ``Names.ALL``, not its value: the rule reads the value.
    names = enum.Enum("Names", {"ALL": "@all_docs", "USERS": "Users"}, type=str)
    with pytest.raises(InvalidCollectionNameError, match="every document"):
        validate_collection_name(names.ALL)
    assert validate_collection_name(names.USERS) == "Users"
