// Conversations and threads, kept live from the event stream.
import { defineStore } from 'pinia';
import { reactive, ref, toRaw } from 'vue';
import { api, call, newIdempotencyKey, type Conversation, type Message } from '@/api/client';
import { useEvents, type LiveEvent } from './events';

interface Thread {
  messages: Message[]; // oldest first
  next: string | null; // cursor for older messages
  loaded: boolean;
}

export const useMessages = defineStore('messages', () => {
  const conversations = ref<Conversation[]>([]);
  const loaded = ref(false);
  const threads = reactive(new Map<string, Thread>());
  const query = ref('');
  const next = ref<string | null>(null);
  let loadingMore = false;
  let unsubscribe: (() => void) | null = null;

  async function loadConversations() {
    const q = query.value.trim();
    const r = await call(() =>
      api.GET('/v1/conversations', { params: { query: { limit: 200, ...(q ? { q } : {}) } } }),
    );
    conversations.value = r.data;
    next.value = r.next;
    loaded.value = true;
  }

  async function loadMoreConversations() {
    if (!next.value || loadingMore) return;
    loadingMore = true;
    try {
      const after = next.value;
      const q = query.value.trim();
      const r = await call(() =>
        api.GET('/v1/conversations', { params: { query: { limit: 200, after, ...(q ? { q } : {}) } } }),
      );
      const seen = new Set(conversations.value.map((c) => c.id));
      conversations.value.push(...r.data.filter((c) => !seen.has(c.id)));
      next.value = r.next;
    } finally {
      loadingMore = false;
    }
  }

  function thread(id: string): Thread {
    let t = threads.get(id);
    if (!t) {
      t = { messages: [], next: null, loaded: false };
      threads.set(id, t);
    }
    return threads.get(id)!;
  }

  // Adds or replaces messages, keeping the thread in id (time) order. One
  // sort per batch, on the raw array: a page of 200 into a 10,000-message
  // thread stays cheap.
  function upsert(t: Thread, ...batch: Message[]) {
    const raw = toRaw(t.messages);
    const index = new Map(raw.map((m, i) => [m.id, i]));
    let appended = false;
    for (const m of batch) {
      const i = index.get(m.id);
      if (i !== undefined) raw[i] = m;
      else {
        index.set(m.id, raw.length);
        raw.push(m);
        appended = true;
      }
    }
    if (appended) raw.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    t.messages = [...raw];
  }

  async function loadThread(id: string) {
    const r = await call(() =>
      api.GET('/v1/conversations/{id}/messages', { params: { path: { id }, query: { limit: 50 } } }),
    );
    const t = thread(id);
    upsert(t, ...r.data);
    if (!t.loaded) t.next = r.next;
    t.loaded = true;
  }

  async function loadOlder(id: string) {
    const t = thread(id);
    if (!t.next) return;
    const r = await call(() =>
      api.GET('/v1/conversations/{id}/messages', {
        params: { path: { id }, query: { limit: 200, after: t.next! } },
      }),
    );
    upsert(t, ...r.data);
    t.next = r.next;
  }

  async function markRead(id: string) {
    const c = conversations.value.find((x) => x.id === id);
    if (c && !c.unread_count) return;
    await call(() => api.POST('/v1/conversations/{id}/read', { params: { path: { id } }, body: {} }));
    if (c) c.unread_count = 0;
  }

  async function uploadMedia(file: File): Promise<string> {
    const r = await call(() =>
      api.POST('/v1/media', {
        body: file as unknown as string,
        bodySerializer: (b: unknown) => b as BodyInit,
        headers: { 'Content-Type': file.type || 'application/octet-stream' },
      }),
    );
    return r.id;
  }

  async function send(from: string, to: string[], text: string, media: string[] = []): Promise<Message> {
    const m = await call(() =>
      api.POST('/v1/messages', {
        params: { header: { 'Idempotency-Key': newIdempotencyKey() } },
        body: { from, to: to.length === 1 ? to[0]! : to, text, ...(media.length ? { media } : {}) },
      }),
    );
    upsert(thread(m.conversation_id), m);
    void loadConversations();
    return m;
  }

  async function retry(m: Message): Promise<Message> {
    const sent = await send(m.from, m.to, m.text, m.media ?? []);
    await call(() => api.DELETE('/v1/messages/{id}', { params: { path: { id: m.id } } }));
    const t = thread(m.conversation_id);
    t.messages = t.messages.filter((x) => x.id !== m.id);
    return sent;
  }

  async function deleteConversation(id: string) {
    await call(() => api.DELETE('/v1/conversations/{id}', { params: { path: { id } } }));
    conversations.value = conversations.value.filter((c) => c.id !== id);
    threads.delete(id);
  }

  async function refreshMessage(id: string, conversationId: string) {
    const t = threads.get(conversationId);
    if (!t?.loaded) return;
    const m = await call(() => api.GET('/v1/messages/{id}', { params: { path: { id } } }));
    upsert(t, m);
  }

  function onEvent(e: LiveEvent) {
    if (e.type === 'stream.connected') {
      if (loaded.value) void loadConversations();
      for (const [id, t] of threads) if (t.loaded) void loadThread(id);
      return;
    }
    if (e.type !== 'message.received' && e.type !== 'message.status') return;
    const id = String(e.data['message_id'] ?? '');
    const cid = String(e.data['conversation_id'] ?? '');
    if (!id || !cid) return;
    void refreshMessage(id, cid).catch(() => undefined);
    if (e.type === 'message.received') void loadConversations().catch(() => undefined);
  }

  function start() {
    unsubscribe ??= useEvents().on(onEvent);
  }
  function stop() {
    unsubscribe?.();
    unsubscribe = null;
    conversations.value = [];
    threads.clear();
    loaded.value = false;
  }

  return {
    conversations, loaded, query, threads, thread, loadConversations, loadMoreConversations, loadThread, loadOlder,
    markRead, send, retry, uploadMedia, deleteConversation, start, stop,
  };
});
