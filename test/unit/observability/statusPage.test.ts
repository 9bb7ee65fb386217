import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { statusPage } from '../../../src/observability/statusPage.js';

describe('statusPage', () => {
  const { html, contentSecurityPolicy } = statusPage();

  it('allows exactly its own inline script and style by hash, and nothing from elsewhere', () => {
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] as string;
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] as string;
    const hash = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
    expect(contentSecurityPolicy).toContain(`script-src ${hash(script)};`);
    expect(contentSecurityPolicy).toContain(`style-src ${hash(style)};`);
    expect(contentSecurityPolicy).toMatch(/^default-src 'none'; connect-src 'self';/);
    expect(html).not.toMatch(/<script src|<link /);
  });

  it('builds the DOM from data with textContent only: no HTML parsing of anything it fetched', () => {
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] as string;
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(script).toContain('textContent');
  });
});
