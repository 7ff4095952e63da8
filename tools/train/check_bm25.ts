/**
 * The engine's LexicalRetriever on the references and queries of a JSON file (argv[2]):
 * { refs: string[], queries: string[], k: number } → stdout: per query [[id, score], …].
 * check_bm25.py compares it with bm25.py. Run with `node --import tsx`.
 */
import { readFileSync } from 'node:fs';
import { LexicalRetriever } from '../../src/memory/retrieval/lexical';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { refs: string[]; queries: string[]; k: number };
const r = new LexicalRetriever();
await r.add(input.refs.map((text, id) => ({ id, text })));
const out = [];
for (const q of input.queries) out.push((await r.search(q, input.k)).map((h) => [h.id, h.score]));
process.stdout.write(JSON.stringify(out));
