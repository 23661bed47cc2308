/**
 * Re-renders the table, SVG and markdown from a results.json without measuring again:
 * `node dist/bench/report/render.js [bench/results/results.json]`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Results } from '../results.js';
import { renderMarkdown } from './markdown.js';
import { renderSvg } from './svg.js';
import { renderTable } from './table.js';

const file = process.argv[2] ?? path.join('bench', 'results', 'results.json');
const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
const dir = path.dirname(file);
writeFileSync(path.join(dir, 'results.svg'), renderSvg(results));
writeFileSync(path.join(dir, 'results.md'), renderMarkdown(results));
process.stdout.write(`${renderTable(results)}\n`);
