// Renders a command's result: pretty JSON with sorted keys by default (the same input always
// prints the same text, so scripts can diff and pipe to jq), or an aligned table for people.
import type { CommandResult } from './command.js';
import type { OutputFormat } from './settings.js';

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, item]) => [key, sortKeys(item)]));
}

function formatJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (Array.isArray(value)) return value.length ? value.map(cell).join(' ') : '-';
  if (typeof value === 'object') return JSON.stringify(value);
  // Control characters would break the layout (or the terminal); show them escaped.
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? value.toString() : JSON.stringify(value) ?? '';
  return text.replace(/\p{Cc}/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((text, column) => (column === row.length - 1 ? text : text.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

function field(item: unknown, key: string): unknown {
  return item !== null && typeof item === 'object' ? (item as Record<string, unknown>)[key] : undefined;
}

export function formatResult(result: CommandResult, format: OutputFormat): string {
  switch (result.kind) {
    case 'none':
      return '';
    case 'text':
      return `${result.text}\n`;
    case 'list':
      if (format === 'json') return formatJson(result.items);
      return formatTable(
        result.columns.map((column) => column.toUpperCase()),
        result.items.map((item) => result.columns.map((column) => cell(field(item, column)))),
      );
    case 'object': {
      if (format === 'json') return formatJson(result.value);
      const value = sortKeys(result.value);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return formatJson(value);
      return formatTable(
        ['FIELD', 'VALUE'],
        Object.entries(value).map(([key, item]) => [key, cell(item)]),
      );
    }
  }
}
