// The brand of the tenant this page is served for (GET /v1/branding resolves
// it from the Host), applied at run time: one build serves every brand.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api, call, type Branding } from '@/api/client';

const CACHE = 'rh.branding';
export type Theme = 'system' | 'light' | 'dark';

function safeColor(c: string | null | undefined): string | null {
  return c && /^#[0-9a-fA-F]{3,8}$/.test(c) ? c : null;
}

const systemDark = window.matchMedia('(prefers-color-scheme: dark)');

export const useBranding = defineStore('branding', () => {
  const brand = ref<Branding | null>(JSON.parse(localStorage.getItem(CACHE) ?? 'null'));
  const theme = ref<Theme>((localStorage.getItem('rh.theme') as Theme) || 'system');

  function apply() {
    const b = brand.value;
    const root = document.documentElement;
    const primary = safeColor(b?.primary_color);
    const accent = safeColor(b?.accent_color);
    if (primary) root.style.setProperty('--brand', primary);
    if (accent) root.style.setProperty('--accent', accent);
    if (b?.name) document.title = b.name;
    document.querySelector('meta[name="theme-color"]')?.setAttribute('content', primary ?? '#0b6bcb');
    root.dataset['theme'] = theme.value === 'system' ? (systemDark.matches ? 'dark' : 'light') : theme.value;
  }
  systemDark.addEventListener('change', apply);

  async function load() {
    apply();
    try {
      brand.value = await call(() => api.GET('/v1/branding'));
      localStorage.setItem(CACHE, JSON.stringify(brand.value));
    } catch {
      /* offline: keep the cached brand */
    }
    apply();
  }

  function setTheme(t: Theme) {
    theme.value = t;
    localStorage.setItem('rh.theme', t);
    apply();
  }

  return { brand, theme, load, setTheme };
});
