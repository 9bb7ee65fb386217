import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, startCluster, useClusterHarness } from '../integration/cluster.js';

/**
 * The status page in a real headless browser (Debian's chromium, driven by
 * playwright-core): a live 3-node cluster with a held lock and a waiter,
 * the page of a follower (which relays the leader's view), DOM checks of the
 * members, the one leader and the lock with its holder, token and queue, a
 * live update when the lock changes hands, and a screenshot that must not be
 * blank. The screenshot is kept under results/browser/ for a human to look at.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * The page's CSP forbids eval, so browser-side checks are functions, not
 * strings; this file's TypeScript has no DOM library, so the little of the DOM
 * they touch is declared here.
 */
interface PageElement {
  readonly dataset: Record<string, string | undefined>;
  readonly textContent: string | null;
  readonly hidden: boolean;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getElementById(id: string): PageElement | null;
};
declare const window: { readonly pwned?: number };

useClusterHarness();

let browser: BrowserContext | null = null;
let profileDir: string | null = null;

afterEach(async () => {
  await browser?.close().catch(() => undefined);
  browser = null;
  if (profileDir !== null) await rm(profileDir, { recursive: true, force: true });
  profileDir = null;
});

/** openBrowser launches chromium with a fresh temp profile (--user-data-dir); afterEach closes it and removes the profile. */
async function openBrowser(): Promise<Page> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does this in CI`);
  profileDir = await mkdtemp(join(tmpdir(), 'raftlock-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 720 },
  });
  return browser.pages()[0] ?? browser.newPage();
}

interface PixelStats {
  readonly width: number;
  readonly height: number;
  readonly colors: number;
  readonly darkFraction: number;
}

/** pixelStats decodes a PNG in the browser (a blank page) and counts its colours and dark pixels. */
async function pixelStats(page: Page, png: Buffer): Promise<PixelStats> {
  await page.goto('about:blank');
  // about:blank has no CSP, so this larger check can be a string with the whole DOM at hand.
  return page.evaluate<PixelStats>(`(async () => {
    const img = new Image();
    img.src = 'data:image/png;base64,${png.toString('base64')}';
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, img.width, img.height).data;
    const colors = new Set();
    let dark = 0;
    for (let i = 0; i < d.length; i += 4) {
      colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      if (d[i] + d[i + 1] + d[i + 2] < 240) dark++;
    }
    return { width: img.width, height: img.height, colors: colors.size, darkFraction: dark / (d.length / 4) };
  })()`);
}

describe('the status page in a headless browser', () => {
  it('shows the live cluster: three members, one leader, the lock with its holder, token and queue', async () => {
    const c = await startCluster({ nodes: 3, http: true });
    const leader = await c.leader();
    const follower = c.ids.find((id) => id !== leader) as string;
    const api = c.client();
    // Lock names are user input: this one would run a script if the page built HTML from it.
    const name = 'reports/<img src=x onerror="window.pwned=1">&amp;<script>window.pwned=2</script>';
    const holder = await api.grant(60_000);
    const held = await api.acquire(name, holder.leaseId);
    const waiter = await api.grant(60_000);
    const waiting = api.acquire(name, waiter.leaseId, { waitMs: 60_000 });
    waiting.catch(() => undefined); // settled by the release below, or by the cluster's end if the test fails first

    const page = await openBrowser();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`http://${c.spec(follower).httpAddress}/`);
    // Under load the follower may first show its own view (the leader's page answered too slowly; the note says so):
    // wait for the leader's view, with the lock and its waiter.
    await page.waitForFunction(() => {
      const roles = Array.from(document.querySelectorAll('#memberRows td.role'), (td) => td.dataset.role);
      return roles.length === 3 && !roles.includes('unknown') && document.getElementById('note')?.hidden === true &&
        document.querySelector('#lockRows tr .waiter') !== null;
    }, null, { timeout: 20_000 });

    const members = await page.evaluate(() => Array.from(document.querySelectorAll('#memberRows tr'), (r) => ({
      id: r.dataset.member, role: r.querySelector('td.role')?.dataset.role,
    })));
    expect(members.map((m) => m.id)).toEqual(['n1', 'n2', 'n3']);
    expect(members.filter((m) => m.role === 'leader').map((m) => m.id)).toEqual([leader]);
    expect(members.filter((m) => m.role !== 'leader').map((m) => m.role)).toEqual(['follower', 'follower']);
    expect(await page.textContent('#leader')).toBe(leader);
    expect(await page.isHidden('#note')).toBe(true);

    const lock = await page.evaluate(() => {
      const r = document.querySelector('#lockRows tr');
      return {
        name: r?.querySelector('td.name')?.textContent,
        dataName: r?.dataset.lock,
        lease: r?.querySelector('.holder .lease')?.textContent,
        token: r?.querySelector('.holder .token')?.textContent,
        queue: Array.from(r?.querySelectorAll('.waiter') ?? [], (w) => w.textContent),
        elementsInName: r?.querySelector('td.name')?.querySelectorAll('img, script').length,
      };
    });
    expect(lock).toEqual({
      name, dataName: name, lease: String(holder.leaseId), token: String(held.token), queue: [`1. lease ${waiter.leaseId}`], elementsInName: 0,
    });
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();

    mkdirSync(join(REPO, 'results', 'browser'), { recursive: true });
    const shotPath = join(REPO, 'results', 'browser', `statusPage-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
    const png = await page.screenshot({ path: shotPath, fullPage: true });
    process.stderr.write(`status page screenshot: ${shotPath}\n`);

    // Live: the release hands the lock to the waiter, and the page follows within its polling.
    await api.release(name, holder.leaseId, held.token);
    const promoted = await waiting;
    await page.waitForFunction((want) => document.querySelector('#lockRows tr .holder .lease')?.textContent === want, String(waiter.leaseId), { timeout: 20_000 });
    expect(await page.textContent('#lockRows tr .holder .token')).toBe(String(promoted.token));
    expect(await page.textContent('#lockRows tr td.queue')).toBe('empty');
    expect(errors).toEqual([]);

    const pixels = await pixelStats(page, png);
    expect(pixels.width).toBe(1280);
    expect(pixels.height).toBeGreaterThanOrEqual(720);
    // Not blank: text, badges and the dark header give many colours and some dark pixels, but not a black screen.
    expect(pixels.colors).toBeGreaterThan(50);
    expect(pixels.darkFraction).toBeGreaterThan(0.02);
    expect(pixels.darkFraction).toBeLessThan(0.5);
  });
});
