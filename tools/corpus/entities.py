#!/usr/bin/env python3
"""A generated knowledge set of fictional entities, to teach a small model to *read* explicit memory.

Five kinds of entity (person, town, country, organisation, object) with 22 relation types; every
fact is rendered in several phrasings (documents) and asked in several phrasings (chat questions),
and the reply starts with the answer in a short sentence (" Tampere."). Names are made of
syllables; first names, surnames, town, country and organisation names come from pools split in two
disjoint halves by a hash of the name: training entities draw only from the training halves, the
held-out entities only from the held-out halves, and their values are drawn afresh, so what a
held-out question asks can only be read from its document, never recalled. A few document and
question phrasings per relation are kept out of training altogether ("held-out phrasings").

Synthetic chemical elements in the dictionary's element format ("zorbium Symbol: Zb Atomic number:
141 Atomic weight: 350.2 ...") teach the same reading for the real element entries of the bank.

`python3 entities.py` writes the held-out set (`.cache/entities-heldout.jsonl`); training draws
entities on the fly from `Generator(split='train', seed)`.
"""
import argparse, hashlib, json, os, random, re

ONSETS = ['b', 'br', 'c', 'ch', 'd', 'dr', 'f', 'g', 'gr', 'h', 'j', 'k', 'kr', 'l', 'm', 'n', 'p', 'pr',
          'r', 's', 'sh', 'st', 't', 'tr', 'v', 'w', 'z', 'th', 'sk', 'fl']
VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou', 'y']
CODAS = ['', '', '', 'n', 'r', 'l', 's', 'm', 'nd', 'rt', 'st', 'k', 'th', 'x', 'lt']
PLACE_ENDS = ['ville', 'burg', 'stad', 'mouth', 'ford', 'holm', 'dale', 'wick', 'port', 'by', 'ton', 'vik',
              'field', 'more', 'ia', 'ene', 'ara', 'ova']
COUNTRY_ENDS = ['ia', 'land', 'istan', 'ovia', 'ary', 'onia', 'esh', 'ania', 'or', 'ica']
ORG_ENDS = ['Systems', 'Works', 'Labs', 'Group', 'Foundry', 'Mills', 'Company', 'Motors', 'Press', 'Guild',
            'Studios', 'Bank', 'Foods', 'Textiles', 'Shipping', 'Institute']
OBJECT_KINDS = ['stone', 'bell', 'crown', 'lamp', 'sword', 'clock', 'mask', 'harp', 'ship', 'map', 'drum', 'ring']

PROFESSIONS = ['pilot', 'teacher', 'baker', 'nurse', 'farmer', 'painter', 'lawyer', 'doctor', 'chemist',
               'engineer', 'sailor', 'writer', 'carpenter', 'architect', 'dentist', 'librarian', 'musician',
               'tailor', 'plumber', 'judge', 'banker', 'poet', 'surgeon', 'geologist', 'astronomer', 'butcher',
               'potter', 'weaver', 'fisherman', 'mechanic', 'pharmacist', 'translator', 'journalist', 'gardener',
               'sculptor', 'violinist', 'photographer', 'electrician', 'miner', 'historian', 'dancer', 'chef',
               'jeweler', 'blacksmith', 'shepherd', 'actor', 'priest', 'soldier', 'clerk', 'veterinarian']
COLOURS = ['red', 'blue', 'green', 'yellow', 'purple', 'orange', 'white', 'black', 'grey', 'brown', 'pink',
           'violet', 'gold', 'silver', 'crimson', 'indigo', 'amber', 'teal', 'scarlet', 'turquoise']
MATERIALS = ['iron', 'bronze', 'copper', 'glass', 'oak', 'marble', 'silver', 'gold', 'clay', 'ivory', 'granite',
             'steel', 'jade', 'bone', 'cedar', 'tin', 'amber', 'leather', 'silk', 'pewter']
SYMBOLS = ['owl', 'wolf', 'bear', 'eagle', 'lion', 'fox', 'swan', 'stag', 'crane', 'horse', 'rose', 'oak',
           'anchor', 'star', 'moon', 'key', 'tower', 'lily', 'hawk', 'salmon', 'raven', 'bee', 'dolphin', 'tiger',
           'serpent', 'falcon', 'heron', 'boar', 'lynx', 'otter']
# Real places, so that facts about real towns and countries read like the generated ones.
REAL_TOWNS = ['Tampere', 'Oslo', 'Lisbon', 'Porto', 'Lyon', 'Nantes', 'Bremen', 'Leipzig', 'Dresden', 'Graz', 'Basel',
              'Geneva', 'Turin', 'Naples', 'Verona', 'Seville', 'Bilbao', 'Valencia', 'Krakow', 'Gdansk', 'Brno',
              'Tallinn', 'Riga', 'Vilnius', 'Bergen', 'Malmo', 'Uppsala', 'Aarhus', 'Turku', 'Oulu', 'Cork', 'Galway',
              'Leeds', 'York', 'Bristol', 'Glasgow', 'Cardiff', 'Utrecht', 'Ghent', 'Antwerp', 'Bruges', 'Zagreb',
              'Split', 'Sofia', 'Varna', 'Athens', 'Patras', 'Izmir', 'Cairo', 'Tunis', 'Dakar', 'Accra', 'Lagos',
              'Nairobi', 'Mombasa', 'Durban', 'Lima', 'Quito', 'Bogota', 'Santiago', 'Montevideo', 'Recife', 'Toronto',
              'Boston', 'Denver', 'Austin', 'Seattle', 'Portland', 'Osaka', 'Kyoto', 'Sapporo', 'Busan', 'Hanoi',
              'Manila', 'Jakarta', 'Perth', 'Hobart', 'Auckland', 'Madras', 'Lahore', 'Tehran', 'Baku', 'Tbilisi', 'Kazan']
REAL_COUNTRIES = ['Finland', 'Norway', 'Sweden', 'Denmark', 'Iceland', 'Estonia', 'Latvia', 'Poland', 'Austria',
                  'Portugal', 'Spain', 'France', 'Italy', 'Greece', 'Egypt', 'Kenya', 'Ghana', 'Peru', 'Chile', 'Brazil',
                  'Canada', 'Japan', 'Vietnam', 'Nepal', 'Mongolia', 'Morocco', 'Ireland', 'Scotland', 'Hungary', 'Romania']
GOODS = ['bicycles', 'paper', 'glassware', 'clocks', 'furniture', 'shoes', 'cheese', 'pianos', 'lamps', 'rope',
         'soap', 'candles', 'maps', 'telescopes', 'boats', 'bricks', 'tiles', 'buttons', 'toys', 'radios',
         'engines', 'medicine', 'chocolate', 'carpets', 'umbrellas']

V, N = '{v}', '{n}'
# relation → (kind, value type, document phrasings, question phrasings); the last document phrasing
# and the last question phrasing of every relation are held out of training.
RELATIONS = {
    'birthplace': ('person', 'town', [
        '{n} was born in {v}.', 'The birthplace of {n} is {v}.', '{n} was born in the town of {v}.',
        '{v} is where {n} was born.'],
        ['Where was {n} born?', 'In which town was {n} born?', 'What is the birthplace of {n}?', 'Tell me where {n} was born.']),
    'birth_year': ('person', 'year', [
        '{n} was born in the year {v}.', 'The birth year of {n} is {v}.', '{n} came into the world in {v}.'],
        ['When was {n} born?', 'In what year was {n} born?', 'What is the birth year of {n}?', 'What year was {n} born in?']),
    'profession': ('person', 'profession', [
        '{n} works as a {v}.', '{n} is a {v} by profession.', 'By trade, {n} is a {v}.', '{n} earns a living as a {v}.'],
        ['What does {n} do for a living?', 'What is the profession of {n}?', 'What is the job of {n}?', 'What job does {n} have?']),
    'employer': ('person', 'org', [
        '{n} works for {v}.', '{n} is employed by {v}.', '{n} has a job at {v}.', '{v} employs {n}.'],
        ['Who does {n} work for?', 'Which company employs {n}?', 'Who is the employer of {n}?', 'Where does {n} work?']),
    'residence': ('person', 'town', [
        '{n} lives in {v}.', '{n} makes a home in {v}.', 'The home of {n} is in {v}.'],
        ['Where does {n} live?', 'In which town does {n} live?', 'Where is the home of {n}?', 'Which town is {n} living in?']),
    'favourite_colour': ('person', 'colour', [
        'The favourite colour of {n} is {v}.', '{n} likes the colour {v} best.', '{n} loves the colour {v} above all.'],
        ['What is the favourite colour of {n}?', 'Which colour does {n} like best?', 'What colour does {n} prefer?']),
    'country': ('town', 'country', [
        '{n} is a town in {v}.', '{n} lies in {v}.', '{n} is located in {v}.', 'The town of {n} belongs to {v}.'],
        ['In which country is {n}?', 'Where is {n} located?', 'What country is {n} in?', 'Which country does {n} lie in?']),
    'town_founded': ('town', 'year', [
        '{n} was founded in {v}.', 'The town of {n} dates from {v}.', '{n} has existed since {v}.'],
        ['When was {n} founded?', 'In what year was {n} founded?', 'What year was {n} founded in?']),
    'population': ('town', 'number', [
        '{n} has a population of {v}.', 'The population of {n} is {v}.', '{n} is home to {v} people.'],
        ['What is the population of {n}?', 'How many people live in {n}?', 'How many inhabitants does {n} have?']),
    'town_symbol': ('town', 'symbol', [
        'The symbol of {n} is the {v}.', '{n} has the {v} as its symbol.', '{n} chose the {v} as its emblem.'],
        ['What is the symbol of {n}?', 'Which animal or sign is the symbol of {n}?', 'What emblem does {n} have?']),
    'capital': ('country', 'town', [
        'The capital of {n} is {v}.', '{v} is the capital of {n}.', '{n} has its capital at {v}.'],
        ['What is the capital of {n}?', 'Which city is the capital of {n}?', 'Name the capital of {n}.']),
    'language': ('country', 'language', [
        'The people of {n} speak {v}.', 'The language of {n} is {v}.', 'In {n} the main language is {v}.'],
        ['What language is spoken in {n}?', 'What is the language of {n}?', 'Which language do people speak in {n}?']),
    'country_colour': ('country', 'colour', [
        'The flag of {n} is {v}.', '{n} has a {v} flag.', 'The colour of the flag of {n} is {v}.'],
        ['What colour is the flag of {n}?', 'Which colour is the flag of {n}?', 'What is the colour of the flag of {n}?']),
    'org_founded': ('org', 'year', [
        '{n} was founded in {v}.', '{n} was established in {v}.', '{n} opened its doors in {v}.'],
        ['When was {n} founded?', 'In what year was {n} established?', 'What year was {n} founded in?']),
    'headquarters': ('org', 'town', [
        '{n} is based in {v}.', 'The headquarters of {n} are in {v}.', '{n} has its head office in {v}.'],
        ['Where is {n} based?', 'Where are the headquarters of {n}?', 'In which town is {n} headquartered?']),
    'founder': ('org', 'person', [
        '{n} was founded by {v}.', 'The founder of {n} is {v}.', '{v} started {n}.'],
        ['Who founded {n}?', 'Who is the founder of {n}?', 'Who started {n}?']),
    'product': ('org', 'goods', [
        '{n} makes {v}.', '{n} is a maker of {v}.', '{n} produces {v}.'],
        ['What does {n} make?', 'What kind of goods does {n} make?', 'What does {n} produce?']),
    'object_colour': ('object', 'colour', [
        'The colour of {n} is {v}.', '{n} is painted {v}.', '{n} has a {v} colour.'],
        ['What colour is {n}?', 'What is the colour of {n}?', 'Which colour does {n} have?']),
    'material': ('object', 'material', [
        '{n} is made of {v}.', 'The material of {n} is {v}.', '{n} was made from {v}.'],
        ['What is {n} made of?', 'What material is {n} made of?', 'From what material was {n} made?']),
    'object_number': ('object', 'number', [
        '{n} bears the number {v}.', 'The number of {n} is {v}.', '{n} is marked with the number {v}.'],
        ['What number does {n} bear?', 'What is the number of {n}?', 'Which number is marked on {n}?']),
    'kept_in': ('object', 'town', [
        '{n} is kept in {v}.', 'The home of {n} is the museum of {v}.', '{n} can be seen in {v}.'],
        ['Where is {n} kept?', 'In which town is {n} kept?', 'Where can {n} be seen?']),
    'maker': ('object', 'person', [
        '{n} was made by {v}.', 'The maker of {n} was {v}.', '{v} made {n}.'],
        ['Who made {n}?', 'Who was the maker of {n}?', 'Who created {n}?']),
}
# Sentences that state two facts of a person at once (the issue's own example among them).
COMBINED = {
    ('birthplace', 'birth_year'): ['{n} was born in {a} in {b}.', 'Born in {b}, {n} comes from {a}.'],
    ('birthplace', 'profession'): ['{n} was born in {a} and works as a {b}.'],
    ('profession', 'employer'): ['{n} works as a {a} for {b}.'],
}
COMBINED3 = {('birthplace', 'birth_year', 'profession'): '{n} was born in {a} in {b} and works as a {c}.'}
KINDS = {k: [r for r, (kind, *_rest) in RELATIONS.items() if kind == k] for k in ['person', 'town', 'country', 'org', 'object']}
KIND_WEIGHTS = {'person': 0.4, 'town': 0.2, 'country': 0.1, 'org': 0.15, 'object': 0.15}


def split_of(name):
    """'train' or 'heldout' for a name part, by a hash (the same name is always on the same side)."""
    return 'heldout' if int(hashlib.sha1(name.lower().encode()).hexdigest()[:8], 16) % 5 == 0 else 'train'


def syllable_word(rng, n):
    w = ''.join(rng.choice(ONSETS) + rng.choice(VOWELS) + (rng.choice(CODAS) if i == n - 1 else '') for i in range(n))
    return w.capitalize()


def _pool(seed, make, size, split=None):
    """`size` distinct generated words of one split (None: of both)."""
    rng, out, seen = random.Random(seed), [], set()
    while len(out) < size:
        w = make(rng)
        if w.lower() in seen or len(w) < 3 or len(w) > 14:
            continue
        seen.add(w.lower())
        if split is None or split_of(w) == split:
            out.append(w)
    return out


def _town(r):
    return syllable_word(r, r.choice([1, 2])).rstrip('aeiouy') + r.choice(PLACE_ENDS)


def _country(r):
    return syllable_word(r, r.choice([1, 2])).rstrip('aeiouy') + r.choice(COUNTRY_ENDS)


class Generator:
    """Fictional entities of one split, each with its facts; `document` and `questions` render them.
    The entities' own names (people, towns, countries, organisations, objects) come from the split's
    half of each pool; the values of their facts from pools both splits share (generated and real
    towns and countries, organisations, professions, colours, ...), drawn afresh for every entity."""

    def __init__(self, split='train', seed=0):
        assert split in ('train', 'heldout')
        self.split = split
        self.rng = random.Random(f'{split}:{seed}')
        size = 4000 if split == 'train' else 1000
        self.first = _pool(1, lambda r: syllable_word(r, r.choice([1, 2, 2, 3])), size, split)
        self.last = _pool(2, lambda r: syllable_word(r, r.choice([2, 2, 3])), size, split)
        self.towns = _pool(3, _town, size, split)
        self.countries = _pool(4, _country, size // 4, split)
        self.org_names = _pool(5, lambda r: syllable_word(r, r.choice([2, 3])), size, split)
        # Values, shared by both splits (a held-out entity's facts are new combinations of known values).
        self.v_towns = _pool(13, _town, 2000) + REAL_TOWNS
        self.v_countries = _pool(14, _country, 400) + REAL_COUNTRIES
        self.languages = [c.rstrip('aeiouy') + 'ish' for c in self.v_countries[:400]]
        self.v_orgs = _pool(15, lambda r: syllable_word(r, r.choice([2, 3])), 2000)
        self.v_first = _pool(16, lambda r: syllable_word(r, r.choice([1, 2, 2, 3])), 1000)
        self.v_last = _pool(17, lambda r: syllable_word(r, r.choice([2, 2, 3])), 1000)

    def person_name(self):
        return f'{self.rng.choice(self.first)} {self.rng.choice(self.last)}'

    def value(self, vtype):
        r = self.rng
        if vtype == 'town':
            return r.choice(self.v_towns)
        if vtype == 'country':
            return r.choice(self.v_countries)
        if vtype == 'year':
            return str(r.randint(1600, 2024))
        if vtype == 'number':
            return str(r.choice([r.randint(10, 999), r.randint(1000, 99999)]))
        if vtype == 'org':
            return f'{r.choice(self.v_orgs)} {r.choice(ORG_ENDS)}'
        if vtype == 'person':
            return f'{r.choice(self.v_first)} {r.choice(self.v_last)}'
        if vtype == 'language':
            return r.choice(self.languages)
        return r.choice({'profession': PROFESSIONS, 'colour': COLOURS, 'material': MATERIALS, 'symbol': SYMBOLS,
                         'goods': GOODS}[vtype])

    def entity(self, kind=None):
        r = self.rng
        kind = kind or r.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
        if kind == 'person':
            name = self.person_name()
        elif kind == 'town':
            name = r.choice(self.towns)
        elif kind == 'country':
            name = r.choice(self.countries)
        elif kind == 'org':
            name = f'{r.choice(self.org_names)} {r.choice(ORG_ENDS)}'
        else:
            name = f'the {r.choice(self.org_names)} {r.choice(OBJECT_KINDS)}'
        rels = list(KINDS[kind])
        r.shuffle(rels)
        rels = rels[:r.randint(min(3, len(rels)), len(rels))]
        return {'kind': kind, 'name': name, 'facts': {rel: self.value(RELATIONS[rel][1]) for rel in rels}}

    def document(self, ent, heldout_phrasing=False):
        """The entity's facts as one paragraph, facts in random order, each in a random phrasing
        (training phrasings, or only the held-out ones). Returns (text, phrasing per relation)."""
        r, facts, name = self.rng, dict(ent['facts']), ent['name']
        sentences, used = [], {}
        if not heldout_phrasing and ent['kind'] == 'person':
            for combo, tpl in COMBINED3.items():
                if all(c in facts for c in combo) and r.random() < 0.25:
                    sentences.append(tpl.format(n=name, a=facts[combo[0]], b=facts[combo[1]], c=facts[combo[2]]))
                    for c in combo:
                        used[c] = 'combined'
                        del facts[c]
            for combo, tpls in COMBINED.items():
                if all(c in facts for c in combo) and r.random() < 0.35:
                    sentences.append(r.choice(tpls).format(n=name, a=facts[combo[0]], b=facts[combo[1]]))
                    for c in combo:
                        used[c] = 'combined'
                        del facts[c]
        for rel, val in facts.items():
            tpls = RELATIONS[rel][2]
            i = len(tpls) - 1 if heldout_phrasing else r.randrange(len(tpls) - 1)
            sentences.append(tpls[i].format(n=name, v=val))
            used[rel] = i
        r.shuffle(sentences)
        text = ' '.join(s[0].upper() + s[1:] for s in sentences)
        return text, used

    def question(self, ent, rel, heldout_phrasing=False):
        """(question, reply) for one fact: the reply starts with the answer, as a short sentence."""
        tpls = RELATIONS[rel][3]
        i = len(tpls) - 1 if heldout_phrasing else self.rng.randrange(len(tpls) - 1)
        q = tpls[i].format(n=ent['name'])
        return q[0].upper() + q[1:], f"{ent['facts'][rel]}."


# Synthetic elements in dict-elements' format: a name, then `Symbol: Xx Atomic number: N Atomic
# weight: W`, then a description borrowed from a real training element's entry (names replaced).
ELEMENT_ENDS = ['ium', 'on', 'ine', 'um', 'en', 'ic']


def synthetic_element(rng, descriptions):
    while True:
        base = syllable_word(rng, rng.choice([2, 3])).lower().rstrip('aeiouy')
        name = base + rng.choice(ELEMENT_ENDS)
        if split_of(name) == 'train':
            break
    sym = name[0].upper() + rng.choice([c for c in name[1:] if c.isalpha()] or ['x'])
    z = rng.randint(1, 180)
    w = f'{rng.uniform(1, 400):.{rng.choice([1, 2, 3, 4])}f}' if rng.random() < 0.8 else f'({rng.randint(200, 400)})'
    desc = rng.choice(descriptions) if descriptions else ''
    text = f'{name} Symbol: {sym} Atomic number: {z} Atomic weight: {w} {desc}'.strip()
    return {'kind': 'element', 'name': name, 'facts': {'symbol': sym, 'atomic_number': str(z)}, 'text': text}


ELEMENT_QUESTIONS = {
    'symbol': ['What is the symbol of {n}?', 'What is the chemical symbol of {n}?', 'Which symbol does {n} have?'],
    'atomic_number': ['What is the atomic number of {n}?', 'Which atomic number does {n} have?', 'What atomic number has {n}?'],
}


def element_question(rng, name, rel, facts, heldout_phrasing=False):
    tpls = ELEMENT_QUESTIONS[rel]
    i = len(tpls) - 1 if heldout_phrasing else rng.randrange(len(tpls) - 1)
    return tpls[i].format(n=name).capitalize(), f'{facts[rel]}.'


def element_facts(text):
    """(name, facts) of a real dict-elements entry, or None."""
    m = re.match(r'(\S+) Symbol: (\S+) Atomic number: (\d+)', text)
    return (m.group(1), {'symbol': m.group(2), 'atomic_number': m.group(3)}) if m else None


def element_descriptions(train_docs):
    """Descriptions of the training elements' entries, their own name and symbol removed."""
    out = []
    for t in train_docs:
        f = element_facts(t)
        if not f or ' Atomic weight: ' not in t:
            continue
        rest = t.split(' Atomic weight: ', 1)[1].split(' ', 1)
        if len(rest) == 2:
            out.append(rest[1].replace(f[0].capitalize(), 'It').replace(f[0], 'it'))
    return out


def heldout_set(n_entities=400, heldout_phrasing_share=0.3, questions_per_entity=2, seed=0):
    """The held-out entities (names only from the held-out pools), their documents and questions.
    Entities with held-out phrasing are written and asked only in phrasings training never saw."""
    g = Generator('heldout', seed)
    seen, out = set(), []
    while len(out) < n_entities:
        e = g.entity()
        if e['name'].lower() in seen:
            continue
        seen.add(e['name'].lower())
        ho = g.rng.random() < heldout_phrasing_share
        text, phrasings = g.document(e, heldout_phrasing=ho)
        rels = list(e['facts'])
        g.rng.shuffle(rels)
        qs = []
        for rel in rels[:questions_per_entity]:
            q, a = g.question(e, rel, heldout_phrasing=ho)
            qs.append({'relation': rel, 'question': q, 'answer': a})
        out.append({'id': f'entity-{len(out):04d}', 'kind': e['kind'], 'name': e['name'], 'facts': e['facts'],
                    'heldout_phrasing': ho, 'text': text, 'questions': qs})
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(here, '.cache', 'entities-heldout.jsonl'))
    ap.add_argument('--entities', type=int, default=400)
    a = ap.parse_args()
    items = heldout_set(a.entities)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        for it in items:
            f.write(json.dumps(it) + '\n')
    print(json.dumps({'entities': len(items), 'questions': sum(len(i['questions']) for i in items),
                      'heldout_phrasing': sum(i['heldout_phrasing'] for i in items)}))


if __name__ == '__main__':
    main()
