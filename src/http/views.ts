// Server-rendered pages. Eta escapes every `<%= %>` interpolation; templates live in views/.
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

const viewsDir = fileURLToPath(new URL('../../views/', import.meta.url));

export interface Views {
  render(template: string, data: Record<string, unknown>): string;
}

export function createViews(): Views {
  const eta = new Eta({ views: viewsDir, autoEscape: true, cache: true });
  return {
    render: (template, data) => eta.render(template, data),
  };
}
