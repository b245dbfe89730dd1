#!/usr/bin/env python3
"""Synthetic fictional worlds for training and testing a tiny document-QA model.

Seeded and deterministic, standard library only. A world holds entities (countries,
cities, people, companies, rivers, mountains, inventions) with made-up names, some with
near-miss twins (Crystalton / Crystalford), and documents that describe one to three
entities each. A question asks one attribute of one entity; its answer is one sentence.

PROMPT FRAMING (byte-exact; the engine composes prompts this way, training uses the same
functions below):

    prompt = SYSTEM_PREFIX + chunk_1 + ... + chunk_k + question_part

    SYSTEM_PREFIX = "<|im_start|>system\\nYou answer questions using only the documents."
                    "<|im_end|>\\n<|im_start|>user\\n"            (the shared parent)
    chunk_j       = "Document: " + body_j + "\\n\\n"                (one document, self-contained)
    question_part = "Question: " + question + "<|im_end|>\\n<|im_start|>assistant\\n"

and the model's answer (the assistant turn, ending at the end-of-turn token) is

    "<think>\\n" + reasoning + "\\n</think>\\n\\n" + answer_sentence + "<|im_end|>"

with reasoning = "A document describes <Entity>." and one answer template per attribute
("<Entity> is located in <X>."). The prompt is exactly what the Qwen3 chat template renders
for [system: "You answer questions using only the documents.", user: chunks + "Question: "
+ question] with add_generation_prompt=True. Document bodies are printable ASCII, end with
"." and contain no newline, so every piece boundary is also a pre-token boundary of Qwen3's
split regex (a chunk ends with ".\\n\\n" and the next piece starts with a letter): each
piece tokenizes on its own to the ids it has inside the whole prompt. A chunk never says
where it sits in the prompt, so the same chunk is reusable at any position.

Usage:
    python3 tools/worldgen.py suite [--seed N] [--out tests/fixtures/coherence/suite.jsonl]
    python3 tools/worldgen.py sample [--seed N] [--count 3]    (training examples, printed)
"""
import argparse
import hashlib
import json
import random
import sys

SYSTEM_PROMPT = "You answer questions using only the documents."
SYSTEM_PREFIX = "<|im_start|>system\n" + SYSTEM_PROMPT + "<|im_end|>\n<|im_start|>user\n"
DEFAULT_SUITE_SEED = 20250101
DEFAULT_SUITE_PATH = "tests/fixtures/coherence/suite.jsonl"


def render_chunk(body):
    return "Document: " + body + "\n\n"


def render_question_part(question):
    return "Question: " + question + "<|im_end|>\n<|im_start|>assistant\n"


def render_reasoning(entity):
    return "A document describes " + entity + "."


def render_assistant(reasoning, answer):
    return "<think>\n" + reasoning + "\n</think>\n\n" + answer + "<|im_end|>"


def compose_prompt(chunks, question_part, system=SYSTEM_PREFIX):
    return system + "".join(chunks) + question_part


# ---------------------------------------------------------------------------------------
# Names. Every name has one distinctive "core" word; the core decides whether the name
# belongs to the training or the suite split, so suite names never occur in training.

SUITE_RESERVED = ("Crystalton", "Crystalford", "Nebulonia", "Zantoria", "Marwen", "Oskeld")
ONSETS = ("b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "kr", "l",
          "m", "n", "p", "pr", "r", "s", "sh", "sk", "st", "t", "th", "tr", "v", "w", "z")
NUCLEI = ("a", "e", "i", "o", "u", "ae", "ai", "ea", "ia", "io", "ou")
CODAS = ("", "", "", "l", "m", "n", "r", "s", "th", "nd", "rn", "x", "v")
VOWELS = "aeiou"
ENGLISH_STEMS = ("Crystal", "Bright", "Silver", "Raven", "Stone", "Amber", "Frost", "Ember",
                 "Willow", "Copper", "Iron", "Marble", "Oak", "Thorn", "Glen", "Ash", "Cold",
                 "Red", "Green", "Black", "Storm", "Mist", "Gold", "Fair", "High", "Elder")
CITY_SUFFIXES = ("ton", "ford", "moor", "burg", "haven", "field", "port", "wick", "dale",
                 "stead", "bridge", "mouth", "holm", "gate")
COUNTRY_SUFFIXES = ("ia", "onia", "land", "ara", "ovia", "eria", "oria", "avia")
SURNAME_SUFFIXES = ("son", "mire", "ley", "wood", "ford", "er", "ton", "wick", "more", "ell",
                    "en", "ard")
INVENTION_SUFFIXES = ("phone", "scope", "graph", "meter", "wheel", "lamp", "loom", "tron",
                      "ator", "vane")
COMPANY_WORDS = ("Labs", "Works", "Industries", "Systems", "Foundry", "Motors", "Instruments",
                 "Textiles")
FIRST_NAMES = ("Orla", "Ilsa", "Tomas", "Mira", "Edwin", "Hana", "Felix", "Greta", "Oskar",
               "Lena", "Bruno", "Clara", "Anton", "Elise", "Hugo", "Ida", "Jonas", "Kira",
               "Linus", "Maren", "Nils", "Petra", "Rolf", "Sofia", "Theo", "Vera", "Wim",
               "Yara", "Aldo", "Berta", "Cyril", "Dora", "Emil", "Frida", "Gustav", "Helga")
COLOURS = ("red", "blue", "green", "yellow", "purple", "orange", "silver", "white", "black",
           "grey", "crimson", "teal", "amber", "violet", "brown", "pink")
PROFESSIONS = ("baker", "sailor", "painter", "engineer", "doctor", "teacher", "astronomer",
               "carpenter", "poet", "merchant", "architect", "farmer", "musician", "chemist",
               "librarian", "pilot", "tailor", "geologist")
MATERIALS = ("glass", "copper", "paper", "steel", "wooden", "silk", "clay", "brass", "leather")
GOODS = ("lanterns", "bicycles", "clocks", "boats", "telescopes", "umbrellas", "kettles",
         "maps", "violins", "engines", "bells", "radios")


def name_split(core):
    """'suite' or 'train': a fixed partition of all core words."""
    if core in SUITE_RESERVED:
        return "suite"
    digest = hashlib.sha256(("cascade-worldgen/" + core).encode()).digest()
    return "suite" if digest[0] % 8 == 0 else "train"


def syllable_word(rng, syllables):
    parts = []
    for i in range(syllables):
        onset = rng.choice(ONSETS) if (i > 0 or rng.random() < 0.8) else ""
        parts.append(onset + rng.choice(NUCLEI) + rng.choice(CODAS))
    return "".join(parts).capitalize()


def one_letter_variant(rng, stem):
    """The stem with one vowel changed (Venm -> Vonm), or None if it has no vowel."""
    spots = [i for i, ch in enumerate(stem) if ch.lower() in VOWELS]
    if not spots:
        return None
    i = rng.choice(spots)
    old = stem[i].lower()
    new = rng.choice([v for v in VOWELS if v != old])
    return stem[:i] + (new.upper() if stem[i].isupper() else new) + stem[i + 1:]


class NameSpec:
    """A name as stem + suffix (+ optional first name / trailing word), so that a near-miss
    twin can change one syllable (the suffix) or one letter (in the stem)."""

    def __init__(self, kind, stem, suffix, first="", word="", suffixes=None):
        self.kind, self.stem, self.suffix, self.first, self.word = kind, stem, suffix, first, word
        self.suffixes = suffixes or SUFFIXES[kind]  # where a twin's suffix comes from

    @property
    def core(self):
        return self.stem + self.suffix

    @property
    def full(self):
        if self.kind == "person":
            return self.first + " " + self.core
        if self.kind == "company":
            return self.core + " " + self.word
        if self.kind == "river":
            return self.core + " River"
        if self.kind == "mountain":
            return "Mount " + self.core
        return self.core


SUFFIXES = {"city": CITY_SUFFIXES, "country": COUNTRY_SUFFIXES, "person": SURNAME_SUFFIXES,
            "invention": INVENTION_SUFFIXES, "company": CITY_SUFFIXES + ("",),
            "river": ("a", "ra", "ine", "el", "is", "on"), "mountain": ("ar", "or", "un", "eth",
                                                                       "ak", "is")}


def random_name(rng, kind):
    if kind in ("city", "company") and rng.random() < 0.5:
        stem = rng.choice(ENGLISH_STEMS)
    else:
        stem = "x" * 9
        while len(stem) > 8:  # long names cost tokens and teach nothing more
            stem = syllable_word(rng, 1 if kind in ("city", "person", "invention") else
                                 rng.choice((1, 2)))
    suffix = rng.choice(SUFFIXES[kind])
    first = rng.choice(FIRST_NAMES) if kind == "person" else ""
    word = rng.choice(COMPANY_WORDS) if kind == "company" else ""
    return NameSpec(kind, stem, suffix, first, word)


# Training-only name shapes. The tokenizer is trained on training text, so it merged every
# training name made of an English stem and a list suffix into one token (" Silverford"),
# while a held-out one stays two (" Silver" + "ton"): a model that sees only the first kind
# learns that an English stem ends a name and answers "Silver.". Stems and suffixes from
# these extra lists give training names that split into pieces the way unseen names do, so
# the model learns to copy a name piece by piece. The suite never uses these lists.
EXTRA_STEMS = ("Hazel", "Maple", "Falcon", "Wolf", "Salt", "Rose", "Swan", "Pine", "Sun",
               "Moon", "Star", "Snow", "Rain", "Wind", "Fox", "Bear", "Elm", "Birch", "Lake",
               "Kings", "Sand", "Cliff", "Deep", "Long", "White", "Blue", "Clear", "Dark",
               "Bell", "Horn")
EXTRA_SUFFIXES = {
    "city": ("brook", "mere", "holt", "wood", "ley", "by", "ham", "thorpe", "well", "hurst",
             "worth", "stow", "cliff", "ridge", "vale", "mont", "crest", "fall", "marsh",
             "combe", "fell", "shaw", "croft", "minster", "water", "hill"),
    "country": ("ania", "istan", "ovia", "enia", "uria", "mark", "heim"),
    "person": ("man", "by", "ham", "holt", "sen", "berg", "ski", "worth", "ridge", "well"),
    "invention": ("box", "coil", "drum", "gear", "press", "pump", "cell"),
    "river": ("ette", "ova", "ander", "ura"),
    "mountain": ("ont", "eus", "ard", "ik"),
}
EXTRA_SUFFIXES["company"] = EXTRA_SUFFIXES["city"]


def wide_name(rng, kind):
    """A training-only name: an English stem with an extra suffix, or an extra stem or a
    one- to three-syllable stem with any suffix of its kind."""
    suffixes = SUFFIXES[kind] + EXTRA_SUFFIXES[kind]
    english = kind in ("city", "company", "person") and rng.random() < 0.6
    if english and rng.random() < 0.6:
        stem, suffix = rng.choice(ENGLISH_STEMS), rng.choice(EXTRA_SUFFIXES[kind])
    else:
        if english:
            stem = rng.choice(EXTRA_STEMS)
        else:
            stem = "x" * 11
            while len(stem) > 10:
                stem = syllable_word(rng, rng.choice((1, 2, 2, 3)))
        suffix = rng.choice(suffixes)
    first = rng.choice(FIRST_NAMES) if kind == "person" else ""
    word = rng.choice(COMPANY_WORDS) if kind == "company" else ""
    return NameSpec(kind, stem, suffix, first, word, suffixes)


def near_miss(rng, spec):
    """A twin name differing by one syllable (suffix) or one letter (stem)."""
    if rng.random() < 0.5:
        suffix = rng.choice([s for s in spec.suffixes if s != spec.suffix])
        return NameSpec(spec.kind, spec.stem, suffix, spec.first, spec.word, spec.suffixes)
    stem = one_letter_variant(rng, spec.stem)
    if stem is None or stem == spec.stem:
        return None
    return NameSpec(spec.kind, stem, spec.suffix, spec.first, spec.word, spec.suffixes)


# ---------------------------------------------------------------------------------------
# Attributes: how documents state them, how questions ask them, the one answer sentence.

class Attr:
    def __init__(self, name, value_kind, doc_templates, questions, answer):
        self.name, self.value_kind = name, value_kind
        self.doc_templates, self.questions, self.answer = doc_templates, questions, answer


def article(word):
    return ("an " if word[0] in VOWELS else "a ") + word


ATTRS = {
    "city": [
        Attr("located_in", "country",
             ("{e} is located in {v}.", "{e} lies in {v}.", "The city of {e} is in {v}.",
              "{e} is a city in {v}.", "In {v} lies the city of {e}."),
             ("Where is {e} located?", "In which country is {e}?"), "{e} is located in {v}."),
        Attr("founder", "person",
             ("{e} was founded by {v}.", "{v} founded {e}.", "The founder of {e} was {v}."),
             ("Who founded {e}?",), "{e} was founded by {v}."),
        Attr("founded_year", "year",
             ("{e} was founded in {v}.", "{e} dates from {v}.",
              "The city of {e} was established in {v}."),
             ("In which year was {e} founded?",), "{e} was founded in {v}."),
        Attr("population", "population",
             ("{e} has a population of {v}.", "About {v} people live in {e}.",
              "The population of {e} is {v}."),
             ("What is the population of {e}?", "How many people live in {e}?"),
             "{e} has a population of {v}."),
    ],
    "country": [
        Attr("capital", "city",
             ("The capital of {e} is {v}.", "{v} is the capital of {e}.",
              "{e} is governed from its capital, {v}."),
             ("What is the capital of {e}?",), "The capital of {e} is {v}."),
        Attr("independence_year", "year",
             ("{e} became independent in {v}.", "{e} has been independent since {v}.",
              "In {v}, {e} gained its independence."),
             ("In which year did {e} become independent?",), "{e} became independent in {v}."),
        Attr("flag_colour", "colour",
             ("The flag of {e} is {v}.", "{e} has a {v} flag.", "The flag of {e} is mostly {v}."),
             ("What colour is the flag of {e}?",), "The flag of {e} is {v}."),
    ],
    "person": [
        Attr("born_in", "city",
             ("{e} was born in {v}.", "{v} is the birthplace of {e}.",
              "{e} was born in the city of {v}."),
             ("Where was {e} born?", "What is the birthplace of {e}?"), "{e} was born in {v}."),
        Attr("profession", "profession",
             ("{e} works as {a}.", "{e} is {a} by trade.", "By profession, {e} is {a}."),
             ("What is the profession of {e}?", "What does {e} do for a living?"),
             "{e} works as {a}."),
        Attr("birth_year", "year",
             ("{e} was born in the year {v}.", "The birth year of {e} is {v}.",
              "{e} came into the world in {v}."),
             ("In which year was {e} born?",), "{e} was born in {v}."),
        Attr("favourite_colour", "colour",
             ("{e}'s favourite colour is {v}.", "The favourite colour of {e} is {v}.",
              "{e} likes the colour {v} best."),
             ("What is the favourite colour of {e}?", "What is {e}'s favourite colour?"),
             "{e}'s favourite colour is {v}."),
    ],
    "company": [
        Attr("headquarters", "city",
             ("{e} is headquartered in {v}.", "The headquarters of {e} are in {v}.",
              "{e} has its main office in {v}."),
             ("Where is {e} headquartered?", "Where are the headquarters of {e}?"),
             "{e} is headquartered in {v}."),
        Attr("founder", "person",
             ("{e} was founded by {v}.", "{v} started {e}.", "{v} is the founder of {e}."),
             ("Who founded {e}?",), "{e} was founded by {v}."),
        Attr("founded_year", "year",
             ("{e} was founded in {v}.", "{e} opened its doors in {v}.",
              "{e} has existed since {v}."),
             ("In which year was {e} founded?",), "{e} was founded in {v}."),
        Attr("product", "product",
             ("{e} makes {v}.", "{e} is known for its {v}.", "The main product of {e} is {v}."),
             ("What does {e} make?", "What does {e} produce?"), "{e} makes {v}."),
    ],
    "river": [
        Attr("flows_through", "country",
             ("{e} flows through {v}.", "{e} runs across {v}.", "The waters of {e} cross {v}."),
             ("Through which country does {e} flow?",), "{e} flows through {v}."),
        Attr("length", "length",
             ("{e} is {v} kilometres long.", "The length of {e} is {v} kilometres.",
              "{e} stretches for {v} kilometres."),
             ("How long is {e}?",), "{e} is {v} kilometres long."),
        Attr("source", "mountain",
             ("{e} rises on {v}.", "The source of {e} is on {v}.", "{e} begins on {v}."),
             ("Where does {e} rise?",), "{e} rises on {v}."),
    ],
    "mountain": [
        Attr("located_in", "country",
             ("{e} is located in {v}.", "{e} stands in {v}.", "{e} rises above {v}."),
             ("Where is {e} located?", "In which country is {e}?"), "{e} is located in {v}."),
        Attr("height", "height",
             ("{e} is {v} metres high.", "The summit of {e} reaches {v} metres.",
              "{e} has a height of {v} metres."),
             ("How high is {e}?",), "{e} is {v} metres high."),
    ],
    "invention": [
        Attr("inventor", "person",
             ("{e} was invented by {v}.", "{v} invented {e}.", "The inventor of {e} was {v}."),
             ("Who invented {e}?",), "{e} was invented by {v}."),
        Attr("invention_year", "year",
             ("{e} was invented in the year {v}.", "{e} first appeared in {v}.",
              "The first {e} was made in {v}."),
             ("In which year was {e} invented?",), "{e} was invented in {v}."),
        Attr("invention_city", "city",
             ("{e} was first built in {v}.", "The first {e} was built in {v}.",
              "{v} is where {e} was first built."),
             ("In which city was {e} first built?", "Where was {e} first built?"),
             "{e} was first built in {v}."),
    ],
}
ATTR_BY_NAME = {(kind, a.name): a for kind, attrs in ATTRS.items() for a in attrs}
KIND_COUNTS = (("country", 3), ("city", 5), ("person", 7), ("company", 3), ("river", 2),
               ("mountain", 2), ("invention", 3))


def fill(template, entity, value):
    return template.format(e=entity, v=value, a=article(value))


class Entity:
    def __init__(self, spec):
        self.spec, self.kind, self.name = spec, spec.kind, spec.full
        self.values = {}   # attribute name -> value string
        self.stated = []   # attribute names its document states
        self.twin = None   # name of the near-miss twin, if any


class Doc:
    def __init__(self, body, facts, value_first=frozenset()):
        self.body = body    # sentences joined by spaces
        self.facts = facts  # [(entity name, attribute name)] stated in this document
        self.value_first = value_first  # the facts whose sentence names the value first

    @property
    def chunk(self):
        return render_chunk(self.body)


class World:
    def __init__(self, entities, docs):
        self.entities = entities  # name -> Entity, insertion-ordered
        self.docs = docs
        self.doc_of = {}
        for i, d in enumerate(docs):
            for name, _ in d.facts:
                self.doc_of[name] = i

    def questions(self):
        return [(name, attr) for name, e in self.entities.items() for attr in e.stated]


def random_value(rng, value_kind, pools):
    if value_kind in pools:
        return rng.choice(pools[value_kind])
    if value_kind == "year":
        return str(rng.randint(1100, 1990))
    if value_kind == "population":
        return str(rng.randint(1200, 990000))
    if value_kind == "length":
        return str(rng.randint(40, 3200))
    if value_kind == "height":
        return str(rng.randint(800, 8400))
    if value_kind == "colour":
        return rng.choice(COLOURS)
    if value_kind == "profession":
        return rng.choice(PROFESSIONS)
    if value_kind == "product":
        return rng.choice(MATERIALS) + " " + rng.choice(GOODS)
    raise ValueError("unknown value kind " + value_kind)


def fresh_name(rng, kind, split, used_cores, used_names, wide_names=0.0):
    for _ in range(1000):
        wide = wide_names > 0 and rng.random() < wide_names
        spec = wide_name(rng, kind) if wide else random_name(rng, kind)
        if (name_split(spec.core) == split and spec.core not in used_cores
                and spec.full not in used_names and spec.core not in SUITE_RESERVED):
            return spec
    raise RuntimeError("no fresh name for " + kind)


def twin_name(rng, spec, split, used_cores, used_names):
    for _ in range(50):
        twin = near_miss(rng, spec)
        if (twin is not None and name_split(twin.core) == split and twin.core not in used_cores
                and twin.full not in used_names and twin.core not in SUITE_RESERVED):
            return twin
    return None


def make_world(rng, split, twin_rate=0.35, wide_names=0.0, value_first=0.0):
    """A world of about 25 entities plus near-miss twins, each described in one document.
    wide_names: the share of names drawn by wide_name; value_first: the share of sentences
    forced to a template that names the value before the entity (both training only)."""
    used_cores, used_names, entities = set(), set(), {}

    def add(spec):
        used_cores.add(spec.core)
        used_names.add(spec.full)
        entities[spec.full] = Entity(spec)
        return entities[spec.full]

    for kind, count in KIND_COUNTS:
        for _ in range(count):
            e = add(fresh_name(rng, kind, split, used_cores, used_names, wide_names))
            if rng.random() < twin_rate:
                spec = twin_name(rng, e.spec, split, used_cores, used_names)
                if spec is not None:
                    twin = add(spec)
                    twin.twin, e.twin = e.name, twin.name
    assign_values(rng, entities)
    return World(entities, make_docs(rng, entities, value_first))


def assign_values(rng, entities):
    pools = {}
    for e in entities.values():
        pools.setdefault(e.kind, []).append(e.name)
    for e in entities.values():
        for attr in ATTRS[e.kind]:
            if attr.name == "capital":
                continue
            for _ in range(20):  # a twin must differ from its twin in every attribute
                value = random_value(rng, attr.value_kind, pools)
                twin = entities.get(e.twin) if e.twin else None
                if twin is None or twin.values.get(attr.name) != value:
                    break
            e.values[attr.name] = value
    for country in [e for e in entities.values() if e.kind == "country"]:
        cities = [c.name for c in entities.values()
                  if c.kind == "city" and c.values["located_in"] == country.name]
        twin = entities.get(country.twin) if country.twin else None
        cities = [c for c in cities if twin is None or twin.values.get("capital") != c]
        if cities:
            country.values["capital"] = rng.choice(cities)


def make_docs(rng, entities, value_first=0.0):
    names = list(entities)
    rng.shuffle(names)
    docs, queue = [], names
    while queue:
        size = rng.choices((1, 2, 3), weights=(45, 35, 20))[0]
        group, rest = [], []
        for name in queue:
            twin = entities[name].twin
            if len(group) < size and twin not in group:
                group.append(name)
            else:
                rest.append(name)
        queue = rest
        docs.append(describe(rng, [entities[n] for n in group], value_first))
    return docs


def names_value_first(template):
    """True when the sentence gives the value before the entity ("In {v}, {e} ..."): the
    reader must look back from the entity to the value, the harder retrieval."""
    value = min(template.find(t) for t in ("{v}", "{a}") if t in template)
    return value < template.find("{e}")


def describe(rng, group, value_first=0.0):
    """One document: 2 to 6 sentences about 1 to 3 entities, at least one each."""
    most = {1: 4, 2: 3, 3: 2}[len(group)]
    counts = []
    for e in group:
        available = len(e.values)
        low = 2 if len(group) == 1 else 1
        counts.append(rng.randint(min(low, available), min(most, available)))
    sentences, facts, first = [], [], set()
    for e, count in zip(group, counts):
        chosen = rng.sample(list(e.values), count)
        for attr_name in chosen:
            attr = ATTR_BY_NAME[(e.kind, attr_name)]
            templates = attr.doc_templates
            if value_first > 0 and rng.random() < value_first:
                templates = [t for t in templates if names_value_first(t)] or templates
            template = rng.choice(templates)
            sentences.append(fill(template, e.name, e.values[attr_name]))
            facts.append((e.name, attr_name))
            if names_value_first(template):
                first.add((e.name, attr_name))
        e.stated = chosen
    return Doc(" ".join(sentences), facts, first)


def qa(rng, world, name, attr_name):
    """(question, answer sentence, value, reasoning) for one stated attribute."""
    e = world.entities[name]
    attr = ATTR_BY_NAME[(e.kind, attr_name)]
    value = e.values[attr_name]
    question = rng.choice(attr.questions).format(e=name)
    return question, fill(attr.answer, name, value), value, render_reasoning(name)


# ---------------------------------------------------------------------------------------
# Training stream.

def pick_docs(rng, world, name, k, twin_rate=0.8, attr_name=None, same_attr=0.0):
    """k document indices (in prompt order) containing the one describing `name`.
    same_attr: the chance of adding up to two documents that state the asked attribute
    of other entities (the value the model must not copy)."""
    target = world.doc_of[name]
    chosen = [target]
    twin = world.entities[name].twin
    if twin and k >= 2 and rng.random() < twin_rate and world.doc_of[twin] != target:
        chosen.append(world.doc_of[twin])
    if same_attr > 0 and rng.random() < same_attr:
        rivals = [i for i, d in enumerate(world.docs) if i not in chosen and any(
            a == attr_name and n != name for n, a in d.facts)]
        chosen += rng.sample(rivals, min(len(rivals), 2, max(0, k - len(chosen))))
    others = [i for i in range(len(world.docs)) if i not in chosen]
    chosen += rng.sample(others, min(len(others), k - len(chosen)))
    rng.shuffle(chosen)
    return chosen


def training_worlds(seed, n_worlds, questions_per_world=12, max_docs=8, wide_names=0.3,
                    twin_rate=0.65, many_docs=0.6, value_first=0.35, hard_questions=0.5,
                    same_attr=0.6):
    """Training data, grouped by world so that each document is stored (and tokenized)
    once: [{"chunks": [rendered chunk of every document], "names": [entity names],
    "examples": [([document indices in prompt order], question_part, assistant)]}].
    Harder than the suite's worlds on purpose: a share of names from wide_name, more
    near-miss twins (twin_rate), and a share of prompts (many_docs) with 5 or more
    documents, where the suite asks most of its questions. The look-back retrievals are
    stressed on purpose: more value-first sentences (value_first), questions about them
    (hard_questions) and rival documents stating the same attribute (same_attr)."""
    rng = random.Random("cascade-train-%s" % seed)
    out = []
    for _ in range(n_worlds):
        world = make_world(rng, "train", twin_rate, wide_names, value_first)
        pairs = world.questions()
        hard = [(n, a) for d in world.docs for n, a in d.value_first
                if a in world.entities[n].stated]
        examples = []
        for _ in range(questions_per_world):
            name, attr_name = rng.choice(hard if hard and rng.random() < hard_questions
                                         else pairs)
            most = min(max_docs, len(world.docs))
            least = min(5, most) if rng.random() < many_docs else 1
            k = rng.randint(least, most)
            docs = pick_docs(rng, world, name, k, attr_name=attr_name, same_attr=same_attr)
            question, answer, value, reasoning = qa(rng, world, name, attr_name)
            examples.append((docs, render_question_part(question),
                             render_assistant(reasoning, answer)))
        out.append({"chunks": [d.chunk for d in world.docs], "names": list(world.entities),
                    "examples": examples})
    return out


def training_examples(seed, count):
    """The first `count` training examples of training_worlds(seed, ...), each as
    {"chunks": [chunk texts in prompt order], "question_part", "assistant", "names"}."""
    out = []
    for w in training_worlds(seed, count // 12 + 1):
        for docs, question_part, assistant in w["examples"]:
            out.append({"chunks": [w["chunks"][i] for i in docs], "question_part": question_part,
                        "assistant": assistant, "names": w["names"]})
    return out[:count]


# ---------------------------------------------------------------------------------------
# Coherence suite.

CATEGORIES = ("single_doc", "multi_doc", "distractor", "answer_first", "answer_middle",
              "answer_last", "shared_batch", "seed_case")


def seed_world():
    """The seed's case: Crystalton is located in Nebulonia (with a Crystalford twin)."""
    def entity(kind, stem, suffix, first="", **values):
        e = Entity(NameSpec(kind, stem, suffix, first))
        e.values = values
        return e
    ents = [entity("city", "Crystal", "ton", located_in="Nebulonia", founded_year="1412",
                   population="48200", founder="Ilsa Marwen"),
            entity("city", "Crystal", "ford", located_in="Zantoria", founded_year="1388",
                   population="91500", founder="Maren Oskeld"),
            entity("country", "Nebul", "onia", capital="Crystalton", independence_year="1766",
                   flag_colour="violet"),
            entity("country", "Zant", "oria", capital="Crystalford", independence_year="1802",
                   flag_colour="green"),
            entity("person", "Mar", "wen", "Ilsa", born_in="Crystalford",
                   profession="astronomer", birth_year="1379", favourite_colour="teal"),
            entity("person", "Osk", "eld", "Maren", born_in="Crystalton", profession="architect",
                   birth_year="1351", favourite_colour="amber")]
    ents[0].twin, ents[1].twin = "Crystalford", "Crystalton"
    entities = {e.name: e for e in ents}
    layout = [("Crystalton", ("located_in", 0), ("founded_year", 0), ("population", 0)),
              ("Crystalford", ("located_in", 1), ("founder", 0)),
              ("Nebulonia", ("capital", 0), ("independence_year", 0)),
              ("Ilsa Marwen", ("born_in", 0), ("profession", 0)),
              ("Maren Oskeld", ("birth_year", 1), ("favourite_colour", 0))]
    docs = []
    for name, *stated in layout:
        e = entities[name]
        e.stated = [a for a, _ in stated]
        sentences = [fill(ATTR_BY_NAME[(e.kind, a)].doc_templates[t], name, e.values[a])
                     for a, t in stated]
        docs.append(Doc(" ".join(sentences), [(name, a) for a, _ in stated]))
    return World(entities, docs)


def suite_record(rid, category, world, doc_indices, name, attr_name, rng, question=None,
                 batch=None):
    q, answer, value, reasoning = qa(rng, world, name, attr_name)
    question = question or q
    record = {"id": rid, "category": category, "system": SYSTEM_PREFIX,
              "chunks": [world.docs[i].chunk for i in doc_indices],
              "question_part": render_question_part(question), "question": question,
              "expected_answer": answer, "expected_value": value,
              "expected_reasoning": reasoning, "entity": name, "attribute": attr_name,
              "answer_chunk": doc_indices.index(world.doc_of[name])}
    if batch is not None:
        record["batch"] = batch
    meta = {"facts": [world.docs[i].facts for i in doc_indices],
            "names": list(world.entities), "twin": world.entities[name].twin}
    return record, meta


def build_suite(seed=DEFAULT_SUITE_SEED):
    """[(record, meta)]: the records go to suite.jsonl; meta (facts per chunk, all names of
    the world) is for tests."""
    rng = random.Random("cascade-suite-%s" % seed)
    out = []
    worlds = []

    def world():
        w = make_world(rng, "suite")
        worlds.append(w)
        return w

    def add(category, n, k_range, position=None, need_twin=False):
        made = 0
        while made < n:
            w = world()
            pairs = w.questions()
            rng.shuffle(pairs)
            for name, attr_name in pairs[:4]:
                twin = w.entities[name].twin
                if need_twin and not twin:
                    continue
                k = min(rng.randint(*k_range), len(w.docs))
                target = w.doc_of[name]
                others = [i for i in range(len(w.docs)) if i != target]
                if need_twin:
                    others.remove(w.doc_of[twin])
                    rest = [w.doc_of[twin]] + rng.sample(others, k - 2)
                else:
                    rest = rng.sample(others, k - 1)
                rng.shuffle(rest)
                at = {"first": 0, "middle": k // 2, "last": k - 1}.get(position,
                                                                     rng.randint(0, k - 1))
                docs = rest[:at] + [target] + rest[at:]
                out.append(suite_record("%s-%03d" % (category, made), category, w, docs, name,
                                        attr_name, rng))
                made += 1
                if made == n:
                    break

    add("single_doc", 45, (1, 1))
    add("multi_doc", 40, (2, 4))
    add("distractor", 50, (3, 6), need_twin=True)
    for position in ("first", "middle", "last"):
        add("answer_" + position, 30, (6, 8), position=position)
    for b in range(5):
        pairs = []
        while len(pairs) < 16:
            w = world()
            docs = rng.sample(range(len(w.docs)), 8)
            pairs = [(n, a) for n, a in w.questions() if w.doc_of[n] in docs]
        for j, (name, attr_name) in enumerate(rng.sample(pairs, 16)):
            out.append(suite_record("shared_batch-%d-%02d" % (b, j), "shared_batch", w, docs,
                                    name, attr_name, rng, batch="batch-%d" % b))
    s = seed_world()
    worlds.append(s)
    question = "Where is Crystalton located?"
    for j, docs in enumerate(([0], [1, 0], [2, 0, 3, 1, 4])):
        out.append(suite_record("seed_case-%d" % j, "seed_case", s, docs, "Crystalton",
                                "located_in", rng, question=question))
    return out


def write_suite(path, seed=DEFAULT_SUITE_SEED):
    rows = build_suite(seed)
    with open(path, "w", encoding="utf-8") as f:
        for record, _ in rows:
            f.write(json.dumps(record, ensure_ascii=True) + "\n")
    chunks = {c for r, _ in rows for c in r["chunks"]}
    print("%s: %d questions over %d distinct documents" % (path, len(rows), len(chunks)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("suite")
    s.add_argument("--seed", type=int, default=DEFAULT_SUITE_SEED)
    s.add_argument("--out", default=DEFAULT_SUITE_PATH)
    t = sub.add_parser("sample")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--count", type=int, default=3)
    args = ap.parse_args(argv)
    if args.command == "suite":
        write_suite(args.out, args.seed)
    else:
        for ex in training_examples(args.seed, args.count):
            sys.stdout.write(compose_prompt(ex["chunks"], ex["question_part"]) + ex["assistant"]
                             + "\n" + "-" * 60 + "\n")


if __name__ == "__main__":
    main()
