/**
 * Deterministic text for the memory bench (no downloads, same text every run): element fact
 * paragraphs for the knowledge bank and the prompt, and synthetic reference texts / query texts for
 * the retrieval-latency part. Runs in Node and in the page (imports only the fixtures' PRNG).
 */
import { Prng } from '../tools/fixtures/prng';

/** [name, symbol, atomic number, standard atomic weight, category, phase at 20 °C, group, period]. */
type Element = [string, string, number, number, string, string, number, number];

const elements: Element[] = [
  ['hydrogen', 'H', 1, 1.008, 'nonmetal', 'gas', 1, 1],
  ['helium', 'He', 2, 4.0026, 'noble gas', 'gas', 18, 1],
  ['lithium', 'Li', 3, 6.94, 'alkali metal', 'solid', 1, 2],
  ['beryllium', 'Be', 4, 9.0122, 'alkaline earth metal', 'solid', 2, 2],
  ['boron', 'B', 5, 10.81, 'metalloid', 'solid', 13, 2],
  ['carbon', 'C', 6, 12.011, 'nonmetal', 'solid', 14, 2],
  ['nitrogen', 'N', 7, 14.007, 'nonmetal', 'gas', 15, 2],
  ['oxygen', 'O', 8, 15.999, 'nonmetal', 'gas', 16, 2],
  ['fluorine', 'F', 9, 18.998, 'halogen', 'gas', 17, 2],
  ['neon', 'Ne', 10, 20.18, 'noble gas', 'gas', 18, 2],
  ['sodium', 'Na', 11, 22.99, 'alkali metal', 'solid', 1, 3],
  ['magnesium', 'Mg', 12, 24.305, 'alkaline earth metal', 'solid', 2, 3],
  ['aluminium', 'Al', 13, 26.982, 'post-transition metal', 'solid', 13, 3],
  ['silicon', 'Si', 14, 28.085, 'metalloid', 'solid', 14, 3],
  ['phosphorus', 'P', 15, 30.974, 'nonmetal', 'solid', 15, 3],
  ['sulfur', 'S', 16, 32.06, 'nonmetal', 'solid', 16, 3],
  ['chlorine', 'Cl', 17, 35.45, 'halogen', 'gas', 17, 3],
  ['argon', 'Ar', 18, 39.95, 'noble gas', 'gas', 18, 3],
  ['potassium', 'K', 19, 39.098, 'alkali metal', 'solid', 1, 4],
  ['calcium', 'Ca', 20, 40.078, 'alkaline earth metal', 'solid', 2, 4],
  ['titanium', 'Ti', 22, 47.867, 'transition metal', 'solid', 4, 4],
  ['chromium', 'Cr', 24, 51.996, 'transition metal', 'solid', 6, 4],
  ['manganese', 'Mn', 25, 54.938, 'transition metal', 'solid', 7, 4],
  ['iron', 'Fe', 26, 55.845, 'transition metal', 'solid', 8, 4],
  ['cobalt', 'Co', 27, 58.933, 'transition metal', 'solid', 9, 4],
  ['nickel', 'Ni', 28, 58.693, 'transition metal', 'solid', 10, 4],
  ['copper', 'Cu', 29, 63.546, 'transition metal', 'solid', 11, 4],
  ['zinc', 'Zn', 30, 65.38, 'transition metal', 'solid', 12, 4],
  ['bromine', 'Br', 35, 79.904, 'halogen', 'liquid', 17, 4],
  ['krypton', 'Kr', 36, 83.798, 'noble gas', 'gas', 18, 4],
  ['silver', 'Ag', 47, 107.87, 'transition metal', 'solid', 11, 5],
  ['tin', 'Sn', 50, 118.71, 'post-transition metal', 'solid', 14, 5],
  ['iodine', 'I', 53, 126.9, 'halogen', 'solid', 17, 5],
  ['xenon', 'Xe', 54, 131.29, 'noble gas', 'gas', 18, 5],
  ['tungsten', 'W', 74, 183.84, 'transition metal', 'solid', 6, 6],
  ['platinum', 'Pt', 78, 195.08, 'transition metal', 'solid', 10, 6],
  ['gold', 'Au', 79, 196.97, 'transition metal', 'solid', 11, 6],
  ['mercury', 'Hg', 80, 200.59, 'transition metal', 'liquid', 12, 6],
  ['lead', 'Pb', 82, 207.2, 'post-transition metal', 'solid', 14, 6],
  ['uranium', 'U', 92, 238.03, 'actinide', 'solid', 3, 7],
];

export const elementCount = elements.length;

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

/** Fact sentences about element `i` (true to the table), in a fixed order; callers trim to a token budget. */
export function elementSentences(i: number): string[] {
  const [name, sym, z, w, cat, phase, group, period] = elements[i % elements.length];
  const prev = elements[(i + elements.length - 1) % elements.length],
    next = elements[(i + 1) % elements.length];
  return [
    `${cap(name)} is the chemical element with the symbol ${sym} and atomic number ${z}.`,
    `Its standard atomic weight is ${w}, and it is classed as a ${cat}.`,
    `At room temperature ${name} is a ${phase}.`,
    `In the periodic table ${name} sits in group ${group} and period ${period}.`,
    `A neutral atom of ${name} has ${z} protons and ${z} electrons.`,
    `The symbol ${sym} stands for ${name} in chemical formulas.`,
    `In this table ${name} comes after ${prev[0]} (${prev[1]}) and before ${next[0]} (${next[1]}).`,
    `The element ${name} has atomic number ${z}, one of ${elements.length} elements in this list.`,
    `Chemists write ${sym} for ${name}, whose atomic weight is close to ${Math.round(w)}.`,
  ];
}

/** The prompt's text: questions about elements `asked` (it retrieves their references lexically). */
export function promptText(asked: number[]): string {
  return asked
    .map((i) => {
      const [name] = elements[i % elements.length];
      return `What are the symbol, the atomic number and the atomic weight of ${name}, and is ${name} a metal?`;
    })
    .join(' ');
}

const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'zen', 'dar', 'pel', 'quo', 'fir', 'gu', 'hal', 'jem'];

/** A vocabulary of `n` distinct synthetic words (syllable strings, base-16 digits of the index). */
function syntheticWords(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    let s = '',
      x = i + 16;
    while (x > 0) {
      s += syllables[x % 16];
      x = Math.floor(x / 16);
    }
    return s;
  });
}

/** Zipf(1) sampler over `n` ranks by inverse CDF on the harmonic prefix sums. */
function zipfSampler(n: number, rng: Prng): () => number {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let r = 0; r < n; r++) {
    acc += 1 / (r + 1);
    cdf[r] = acc;
  }
  return () => {
    const u = rng.uniform() * acc;
    let lo = 0,
      hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface SyntheticCorpus {
  /** The corpus' most frequent words, as many as the retriever's English stop-word list has (they play its role). */
  stopWords: string[];
  /** Reference texts (`wordsPerText` Zipf-distributed words each). */
  texts: string[];
  /** Query texts (`queryWords` words each, from the same distribution). */
  queries: string[];
}

/** Texts shaped like 128-token references (≈ 90 words) over a 50k-word Zipf vocabulary; seeded. */
export function syntheticCorpus(
  count: number,
  queries: number,
  seed: number,
  stopWordCount: number,
  wordsPerText = 90,
  queryWords = 45,
): SyntheticCorpus {
  const rng = new Prng(seed);
  const words = syntheticWords(50_000);
  const draw = zipfSampler(words.length, rng);
  const text = (n: number) => Array.from({ length: n }, () => words[draw()]).join(' ');
  return {
    stopWords: words.slice(0, stopWordCount),
    texts: Array.from({ length: count }, () => text(wordsPerText)),
    queries: Array.from({ length: queries }, () => text(queryWords)),
  };
}
