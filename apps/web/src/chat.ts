import {
  ChatClient,
  ChatRest,
  WebStorage,
  previewText,
  type ChatErrorPayload,
  type ConnectionState,
  type ConversationSummary,
  type Message,
  type MessageBody,
  type PresenceStatus,
  type TimelineItem,
  type TypingEvent,
} from '@chat/client';
import { clear, fileSize, h, icon, time } from './dom.ts';
import { FileCache } from './files.ts';
import { claimsOf, clearSession, devToken, saveSession, type Session } from './session.ts';

/** Messages per history page. */
const PAGE = 30;
/** A typing indicator whose stop never came is hidden after this (the server stops it after 5 s itself). */
const TYPING_SHOWN_MS = 6_000;
const MAX_TEXT = 4_000;

interface Row {
  id: string;
  otherId: string;
  name: string | null;
  lastSeq: number;
  unread: number;
  preview: string;
  updatedAt: string;
  /** A message is stored in it: the other participant is a partner, whose presence may be watched. */
  hasMessages: boolean;
}

export interface ChatAppOptions {
  signedOut: (reason?: string) => void;
}

const otherOf = (conversationId: string, me: string): string => conversationId.split('_').find((id) => id !== me) ?? conversationId;

/** Errors a user need not be told about: they are expected and handled (a watch of a non-partner, a lost answer). */
function isNoise(error: ChatErrorPayload): boolean {
  if (error.code === 'DISCONNECTED' || error.code === 'TIMEOUT') return true;
  if (error.event === 'get_online_status' || error.event === 'join_conversation') return true;
  return error.event === 'typing_start' || error.event === 'typing_stop';
}

/** The signed-in app: conversation list on the left, the open conversation on the right. */
export class ChatApp {
  readonly #root: HTMLElement;
  readonly #session: Session;
  readonly #options: ChatAppOptions;
  #chat!: ChatClient;
  readonly #rests = new Map<string, ChatRest>();
  #server: string;
  readonly #files = new FileCache(() => this.#rest());
  readonly #rows = new Map<string, Row>();
  readonly #presence = new Map<string, { isOnline: boolean; lastSeen: string | null; pushed: boolean }>();
  readonly #watched = new Set<string>();
  readonly #typing = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #olderDone = new Set<string>();
  readonly #loadingOlder = new Set<string>();
  readonly #readUpTo = new Map<string, number>();
  readonly #bubbles = new Map<string, HTMLElement>();
  #open: string | undefined;
  #typingIn: string | undefined;
  #everOnline = false;
  #closed = false;
  #authError: string | undefined;
  #listRefresh: ReturnType<typeof setTimeout> | undefined;
  #toastTimer: ReturnType<typeof setTimeout> | undefined;

  // The shell's elements.
  readonly #banner = h('div', { class: 'banner', role: 'status', 'data-testid': 'connection-banner', hidden: true });
  readonly #list = h('ul', { class: 'conversations', 'data-testid': 'conversations' });
  readonly #pane = h('main', { class: 'pane' });
  readonly #title = h('h2', { 'data-testid': 'conversation-title' });
  readonly #headerDot = h('span', { class: 'dot' });
  readonly #headerInitial = h('span', {});
  readonly #status = h('div', { class: 'status', 'data-testid': 'conversation-status' });
  readonly #scroller = h('div', { class: 'messages', 'data-testid': 'messages' });
  readonly #older = h('div', { class: 'older' });
  readonly #bubbleList = h('div', { class: 'bubbles' });
  readonly #typingLine = h('div', { class: 'typing', 'data-testid': 'typing-indicator', hidden: true });
  readonly #text = h('textarea', {
    rows: 1,
    placeholder: 'Write a message',
    'aria-label': 'Message',
    'data-testid': 'composer-input',
    maxlength: MAX_TEXT,
  });
  readonly #attach = h('input', {
    type: 'file',
    accept: 'image/png,image/jpeg,application/pdf',
    'data-testid': 'attach-input',
    class: 'visually-hidden',
  });
  readonly #uploading = h('div', { class: 'uploading', 'data-testid': 'uploading', hidden: true });
  readonly #toast = h('div', { class: 'toast', role: 'alert', 'data-testid': 'toast', hidden: true });

  constructor(root: HTMLElement, session: Session, options: ChatAppOptions) {
    this.#root = root;
    this.#session = session;
    this.#options = options;
    this.#server = session.servers[0]!;
  }

  start(): void {
    try {
      const { dev } = this.#session;
      this.#chat = new ChatClient({
        urls: (attempt) => (this.#server = this.#session.servers[attempt % this.#session.servers.length]!),
        token: this.#session.token,
        storage: new WebStorage(localStorage, 'chat-web:'),
        ...(dev
          ? {
              refreshToken: async () => {
                const token = await devToken(dev.userId, dev.name);
                saveSession({ ...this.#session, token });
                return token;
              },
            }
          : {}),
      });
    } catch (error) {
      clearSession();
      return this.#options.signedOut(`That token cannot be used: ${(error as Error).message}`);
    }
    this.#renderShell();
    const chat = this.#chat;
    chat.on('state', (state) => this.#onState(state));
    chat.on('message', (message) => this.#onMessage(message));
    chat.on('timeline', (conversationId) => conversationId === this.#open && this.#renderMessages());
    chat.on('typing', (event) => this.#onTyping(event));
    chat.on('presence', (status) => this.#onPresence(status));
    chat.on('error', (error) => this.#onError(error));
    chat.on('send_failed', (_entry, error) => this.#showToast(`Not sent: ${error.message}`));
    document.addEventListener('visibilitychange', this.#onVisibility);
    this.#onState(chat.state);
    chat.connect().catch(() => undefined);
  }

  get #me(): string {
    return this.#chat.userId;
  }

  #rest(): ChatRest {
    let rest = this.#rests.get(this.#server);
    if (!rest) this.#rests.set(this.#server, (rest = new ChatRest({ baseUrl: this.#server, token: () => this.#chat.token })));
    return rest;
  }

  async #signOut(reason?: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    document.removeEventListener('visibilitychange', this.#onVisibility);
    delete this.#root.dataset.connection;
    this.#root.classList.remove('conversation-open');
    for (const timer of this.#typing.values()) clearTimeout(timer);
    clearTimeout(this.#listRefresh);
    clearTimeout(this.#toastTimer);
    clearSession();
    await this.#chat.close();
    this.#files.dispose();
    this.#options.signedOut(reason);
  }

  // ---- shell ----------------------------------------------------------------------------------------------

  #renderShell(): void {
    const signOut = h('button', { type: 'button', class: 'link', 'data-testid': 'sign-out' }, 'Sign out');
    signOut.addEventListener('click', () => void this.#signOut());
    const peer = h('input', {
      type: 'text',
      placeholder: 'Start a chat: user id',
      pattern: '[A-Za-z0-9\\-]{1,64}',
      required: true,
      'data-testid': 'new-chat-input',
    });
    const newChat = h('form', { class: 'new-chat' }, peer, h('button', { type: 'submit' }, 'Chat'));
    newChat.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#startChat(peer.value.trim()).then((ok) => ok && (peer.value = ''));
    });
    const myName = claimsOf(this.#chat.token)?.name;
    const sidebar = h(
      'aside',
      { class: 'sidebar' },
      h(
        'header',
        {},
        h('span', { class: 'me' }, myName ? h('strong', {}, myName) : null, h('span', { 'data-testid': 'me' }, this.#me)),
        signOut,
      ),
      newChat,
      this.#list,
    );

    this.#list.addEventListener('click', (event) => {
      const row = (event.target as Element).closest<HTMLElement>('[data-conversation-id]');
      if (row?.dataset.conversationId) this.#openConversation(row.dataset.conversationId);
    });
    this.#scroller.append(this.#older, this.#bubbleList);
    this.#scroller.addEventListener('scroll', () => {
      if (this.#open && this.#scroller.scrollTop < 40) void this.#loadOlder(this.#open);
    });
    this.#pane.append(h('div', { class: 'empty-pane' }, 'Pick a conversation, or start one with a user id.'));
    this.#root.append(this.#banner, h('div', { class: 'shell' }, sidebar, this.#pane), this.#toast);
  }

  #renderConversationPane(): void {
    clear(this.#pane);
    const back = h('button', { type: 'button', class: 'back link', 'aria-label': 'Back to conversations' }, '‹');
    back.addEventListener('click', () => this.#closeConversation());
    const header = h(
      'header',
      {},
      back,
      h('span', { class: 'avatar' }, this.#headerInitial, this.#headerDot),
      h('div', { class: 'who' }, this.#title, this.#status),
    );

    const attachButton = h(
      'label',
      { class: 'attach', title: 'Send a photo or file' },
      icon('attach'),
      h('span', { class: 'visually-hidden' }, 'Attach a photo or file'),
      this.#attach,
    );
    this.#attach.onchange = () => {
      const file = this.#attach.files?.[0];
      this.#attach.value = '';
      if (file && this.#open) void this.#upload(this.#open, file);
    };
    const send = h('button', { type: 'submit', class: 'primary', 'data-testid': 'send' }, 'Send');
    const composer = h('form', { class: 'composer' }, attachButton, this.#text, send);
    composer.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#sendText();
    });
    this.#text.onkeydown = (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#sendText();
      }
    };
    this.#text.oninput = () => this.#onInput();
    this.#pane.append(header, this.#scroller, this.#typingLine, this.#uploading, composer);
  }

  #onState(state: ConnectionState): void {
    if (state === 'closed') {
      if (!this.#closed) void this.#signOut(this.#authError ?? 'The server ended the session. Sign in again.');
      return;
    }
    const online = state === 'online';
    this.#banner.hidden = online || state === 'idle';
    this.#banner.dataset.state = state;
    this.#banner.textContent = this.#everOnline ? 'Connection lost. Reconnecting…' : 'Connecting…';
    this.#root.dataset.connection = state;
    if (!online) return;
    this.#everOnline = true;
    this.#authError = undefined;
    void this.#refreshConversations();
    if (this.#open) void this.#fillFirstPage(this.#open);
  }

  #onVisibility = (): void => {
    if (document.visibilityState === 'visible' && this.#open) this.#renderMessages();
  };

  #showToast(text: string): void {
    this.#toast.textContent = text;
    this.#toast.hidden = false;
    clearTimeout(this.#toastTimer);
    this.#toastTimer = setTimeout(() => (this.#toast.hidden = true), 5_000);
  }

  #onError(error: ChatErrorPayload): void {
    if (error.code === 'AUTH_ERROR') this.#authError = `Signed out: ${error.message}`;
    if (!isNoise(error)) this.#showToast(error.message);
  }

  // ---- conversation list ----------------------------------------------------------------------------------

  async #refreshConversations(): Promise<void> {
    const answer = await this.#rest().conversations({ limit: 50 });
    if (!answer.ok) {
      if (answer.error.code !== 'DISCONNECTED') this.#showToast(`Conversations: ${answer.error.message}`);
      return;
    }
    for (const summary of answer.data) this.#upsertSummary(summary);
    this.#renderList();
  }

  /** One refresh soon for however many messages ask for it meanwhile. */
  #scheduleListRefresh(): void {
    if (this.#listRefresh !== undefined) return;
    this.#listRefresh = setTimeout(() => {
      this.#listRefresh = undefined;
      void this.#refreshConversations();
    }, 200);
  }

  #upsertSummary(summary: ConversationSummary): void {
    const known = this.#rows.get(summary._id);
    const fresher = !known || summary.lastSeq >= known.lastSeq;
    const row: Row = {
      id: summary._id,
      otherId: summary.otherUser._id,
      name: summary.otherUser.name,
      lastSeq: Math.max(summary.lastSeq, known?.lastSeq ?? 0),
      unread: this.#reading(summary._id) ? 0 : fresher ? summary.unreadCount : known.unread,
      preview: fresher ? (summary.lastMessage?.text ?? '') : known.preview,
      updatedAt: fresher ? summary.updatedAt : known.updatedAt,
      hasMessages: summary.lastMessage !== null || summary.lastSeq > 0 || Boolean(known?.hasMessages),
    };
    this.#rows.set(row.id, row);
    const presence = this.#presence.get(row.otherId);
    if (!presence?.pushed)
      this.#presence.set(row.otherId, { isOnline: summary.otherUser.isOnline, lastSeen: presence?.lastSeen ?? null, pushed: false });
    if (row.hasMessages) this.#watch(row.otherId);
    if (row.id === this.#open) this.#renderHeader();
  }

  #rowOf(conversationId: string): Row {
    let row = this.#rows.get(conversationId);
    if (!row) {
      row = {
        id: conversationId,
        otherId: otherOf(conversationId, this.#me),
        name: null,
        lastSeq: 0,
        unread: 0,
        preview: '',
        updatedAt: new Date().toISOString(),
        hasMessages: false,
      };
      this.#rows.set(conversationId, row);
    }
    return row;
  }

  #watch(userId: string): void {
    if (this.#watched.has(userId)) return;
    this.#watched.add(userId);
    this.#chat.watch(userId);
  }

  #renderList(): void {
    const rows = [...this.#rows.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    const items = rows.map((row) => {
      const online = this.#presence.get(row.otherId)?.isOnline ?? false;
      const typing = this.#typing.has(row.id);
      return h(
        'li',
        {
          class: `conversation${row.id === this.#open ? ' current' : ''}${row.unread > 0 ? ' unread' : ''}`,
          'data-testid': 'conversation',
          'data-conversation-id': row.id,
          'data-user-id': row.otherId,
          'aria-current': row.id === this.#open ? 'true' : undefined,
          tabindex: 0,
        },
        h(
          'span',
          { class: 'avatar' },
          (row.name ?? row.otherId).slice(0, 1).toUpperCase(),
          h('span', {
            class: `dot${online ? ' online' : ''}`,
            'data-testid': 'online-dot',
            'data-online': String(online),
            title: online ? 'online' : 'offline',
          }),
        ),
        h(
          'div',
          { class: 'meta' },
          h(
            'div',
            { class: 'top' },
            h('span', { class: 'name', 'data-testid': 'conversation-name' }, row.name ?? row.otherId),
            h('time', {}, time(row.updatedAt)),
          ),
          h(
            'div',
            { class: `preview${typing ? ' is-typing' : ''}`, 'data-testid': 'conversation-preview' },
            typing ? 'typing…' : row.preview,
          ),
        ),
        row.unread > 0 &&
          h('span', { class: 'badge', 'data-testid': 'unread-badge', 'aria-label': `${row.unread} unread` }, String(row.unread)),
      );
    });
    if (items.length === 0) items.push(h('li', { class: 'none' }, 'No conversations yet.'));
    this.#list.replaceChildren(...items);
  }

  async #startChat(userId: string): Promise<boolean> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(userId)) {
      this.#showToast('A user id is 1-64 letters, digits or "-".');
      return false;
    }
    if (userId === this.#me) {
      this.#showToast('That is you.');
      return false;
    }
    const answer = await this.#rest().openConversation(userId);
    if (!answer.ok) {
      this.#showToast(`Could not open the conversation: ${answer.error.message}`);
      return false;
    }
    this.#rowOf(answer.data.conversationId);
    this.#openConversation(answer.data.conversationId);
    return true;
  }

  // ---- receiving ------------------------------------------------------------------------------------------

  #reading(conversationId: string): boolean {
    return conversationId === this.#open && document.visibilityState === 'visible';
  }

  #onMessage(message: Message): void {
    const known = this.#rows.has(message.conversationId);
    const row = this.#rowOf(message.conversationId);
    // A conversation new to the list, or without the other's name yet: the list has it now.
    if (!known || row.name === null) this.#scheduleListRefresh();
    const theirs = message.senderId !== this.#me;
    if (message.seq > row.lastSeq) {
      row.lastSeq = message.seq;
      row.preview = previewText(message);
      row.updatedAt = message.createdAt;
      if (theirs && !this.#reading(message.conversationId)) row.unread += 1;
    }
    row.hasMessages = true;
    this.#watch(row.otherId);
    // Their message ends their typing.
    if (theirs) this.#setTyping(message.conversationId, false);
    this.#renderList();
  }

  #onTyping(event: TypingEvent): void {
    if (event.userId !== this.#me) this.#setTyping(event.conversationId, event.isTyping);
  }

  #setTyping(conversationId: string, typing: boolean): void {
    const had = this.#typing.has(conversationId);
    clearTimeout(this.#typing.get(conversationId));
    this.#typing.delete(conversationId);
    if (typing)
      this.#typing.set(
        conversationId,
        setTimeout(() => this.#setTyping(conversationId, false), TYPING_SHOWN_MS),
      );
    if (had === typing) return;
    this.#renderList();
    if (conversationId === this.#open) this.#renderHeader();
  }

  #onPresence(status: PresenceStatus): void {
    this.#presence.set(status.userId, { isOnline: status.isOnline, lastSeen: status.lastSeen, pushed: true });
    this.#renderList();
    if (this.#open && this.#rowOf(this.#open).otherId === status.userId) this.#renderHeader();
  }

  // ---- the open conversation ------------------------------------------------------------------------------

  #openConversation(conversationId: string): void {
    if (this.#open === conversationId) return;
    this.#stopTyping();
    if (!this.#open) this.#renderConversationPane();
    this.#open = conversationId;
    this.#bubbles.clear();
    this.#bubbleList.replaceChildren();
    this.#root.classList.add('conversation-open');
    const row = this.#rowOf(conversationId);
    row.unread = 0;
    this.#chat.timeline(conversationId, row.lastSeq);
    this.#renderHeader();
    this.#renderList();
    this.#renderMessages({ toBottom: true });
    void this.#fillFirstPage(conversationId);
    this.#text.value = '';
    this.#text.focus();
  }

  #closeConversation(): void {
    this.#stopTyping();
    this.#open = undefined;
    this.#root.classList.remove('conversation-open');
    clear(this.#pane);
    this.#pane.append(h('div', { class: 'empty-pane' }, 'Pick a conversation, or start one with a user id.'));
    this.#renderList();
  }

  #renderHeader(): void {
    if (!this.#open) return;
    const row = this.#rowOf(this.#open);
    const presence = this.#presence.get(row.otherId);
    const name = row.name ?? row.otherId;
    this.#title.textContent = name;
    this.#headerInitial.textContent = name.slice(0, 1).toUpperCase();
    this.#headerDot.className = `dot${presence?.isOnline ? ' online' : ''}`;
    this.#headerDot.dataset.online = String(presence?.isOnline ?? false);
    const typing = this.#typing.has(this.#open);
    this.#status.textContent = typing
      ? 'typing…'
      : presence?.isOnline
        ? 'online'
        : presence?.lastSeen
          ? `last seen ${time(presence.lastSeen)}`
          : '';
    this.#typingLine.hidden = !typing;
    this.#typingLine.textContent = typing ? `${name} is typing…` : '';
  }

  /** The newest page of history, when the timeline holds less (it holds what arrived since the list's `lastSeq`). */
  async #fillFirstPage(conversationId: string): Promise<void> {
    const timeline = this.#chat.timeline(conversationId);
    if (timeline.messages.length < PAGE) await this.#loadOlder(conversationId, true);
  }

  async #loadOlder(conversationId: string, first = false): Promise<void> {
    if (this.#loadingOlder.has(conversationId) || this.#olderDone.has(conversationId)) return;
    const timeline = this.#chat.timeline(conversationId);
    const before = timeline.messages[0]?.seq ?? timeline.syncedUpTo + 1;
    if (before <= 1) {
      this.#olderDone.add(conversationId);
      return this.#renderOlder();
    }
    this.#loadingOlder.add(conversationId);
    this.#renderOlder();
    const answer = await this.#rest().history(conversationId, { before, limit: PAGE });
    this.#loadingOlder.delete(conversationId);
    if (!answer.ok) {
      if (answer.error.code !== 'DISCONNECTED') this.#showToast(`History: ${answer.error.message}`);
      return this.#renderOlder();
    }
    for (const message of answer.data.messages) timeline.insert(message);
    if (!answer.data.hasMore) this.#olderDone.add(conversationId);
    if (conversationId === this.#open) this.#renderMessages(first ? { toBottom: true } : { keepPosition: true });
  }

  #renderOlder(): void {
    const id = this.#open;
    if (!id) return;
    if (this.#olderDone.has(id)) {
      const empty = this.#chat.timeline(id).items().length === 0;
      this.#older.replaceChildren(
        h(
          'span',
          { class: 'start', 'data-testid': 'history-start' },
          empty ? 'No messages yet. Say hello!' : 'The beginning of the conversation',
        ),
      );
    } else if (this.#loadingOlder.has(id)) {
      this.#older.replaceChildren(h('span', { class: 'start' }, 'Loading…'));
    } else {
      // Kept while it stands for the same conversation: every render came here, and a button replaced on each
      // receipt or status change could be gone between a pointer's press and its release.
      const current = this.#older.firstElementChild;
      if (current instanceof HTMLButtonElement && current.dataset.conversation === id) return;
      const button = h(
        'button',
        { type: 'button', class: 'link', 'data-testid': 'load-older', 'data-conversation': id },
        'Load older messages',
      );
      button.addEventListener('click', () => void this.#loadOlder(id));
      this.#older.replaceChildren(button);
    }
  }

  #renderMessages({ toBottom = false, keepPosition = false }: { toBottom?: boolean; keepPosition?: boolean } = {}): void {
    const id = this.#open;
    if (!id) return;
    const scroller = this.#scroller;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    const atBottom = fromBottom - scroller.clientHeight < 80;
    const items = this.#chat.timeline(id).items();
    const wanted = items.map((item) => this.#bubble(item));
    // Move the elements into the timeline's order, keeping those already in place; drop the rest.
    let cursor = this.#bubbleList.firstElementChild;
    for (const element of wanted) {
      if (element === cursor) cursor = cursor.nextElementSibling;
      else this.#bubbleList.insertBefore(element, cursor);
    }
    while (cursor) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
    const keys = new Set(wanted.map((element) => element.dataset.key!));
    for (const key of this.#bubbles.keys()) if (!keys.has(key)) this.#bubbles.delete(key);
    this.#renderOlder();
    if (keepPosition) scroller.scrollTop = scroller.scrollHeight - fromBottom;
    else if (toBottom || atBottom) scroller.scrollTop = scroller.scrollHeight;
    this.#markRead(id);
  }

  /** Everything received up to the newest message is read once it is on screen (the tab visible). */
  #markRead(conversationId: string): void {
    if (!this.#reading(conversationId)) return;
    const row = this.#rowOf(conversationId);
    if (row.unread !== 0) {
      row.unread = 0;
      this.#renderList();
    }
    let upToSeq = 0;
    for (const message of this.#chat.timeline(conversationId).messages) {
      if (message.receiverId === this.#me && message.status !== 'read') upToSeq = Math.max(upToSeq, message.seq);
    }
    if (upToSeq <= (this.#readUpTo.get(conversationId) ?? 0)) return;
    this.#readUpTo.set(conversationId, upToSeq);
    void this.#chat.markRead(conversationId, upToSeq).then((answer) => {
      // Queued while offline (sent on reconnect); any other failure: try again on the next render.
      if (!answer.ok && answer.error.code !== 'DISCONNECTED' && this.#readUpTo.get(conversationId) === upToSeq)
        this.#readUpTo.delete(conversationId);
    });
  }

  #bubble(item: TimelineItem): HTMLElement {
    const mine = item.kind === 'pending' || item.message.senderId === this.#me;
    const senderId = item.kind === 'pending' ? this.#me : item.message.senderId;
    const key = `${senderId}:${item.kind === 'pending' ? item.clientMessageId : item.message.clientMessageId}`;
    const body = item.kind === 'pending' ? item.entry.body : item.message;
    let element = this.#bubbles.get(key);
    if (!element) {
      element = h(
        'div',
        {
          class: `message ${mine ? 'mine' : 'theirs'} ${body.messageType}`,
          'data-testid': 'message',
          'data-key': key,
          'data-mine': String(mine),
        },
        this.#content(body),
        h('div', { class: 'meta' }, h('time', {}), mine && h('span', { class: 'ticks', 'data-testid': 'ticks' })),
      );
      this.#bubbles.set(key, element);
    }
    const status = item.kind === 'pending' ? (item.entry.state === 'failed' ? 'failed' : 'pending') : item.message.status;
    element.dataset.status = status;
    if (item.kind === 'message') {
      element.dataset.id = item.message._id;
      element.dataset.seq = String(item.message.seq);
    }
    element.querySelector('time')!.textContent = time(item.kind === 'pending' ? item.entry.createdAt : item.message.createdAt);
    const ticks = element.querySelector<HTMLElement>('.ticks');
    if (ticks && ticks.dataset.status !== status) {
      ticks.dataset.status = status;
      ticks.replaceChildren(...this.#ticks(status, item));
    }
    return element;
  }

  #ticks(status: string, item: TimelineItem): (Node | string)[] {
    switch (status) {
      case 'pending':
        return [h('span', { title: 'Sending', 'aria-label': 'sending' }, icon('clock'))];
      case 'sent':
        return [h('span', { title: 'Sent', 'aria-label': 'sent' }, '✓')];
      case 'delivered':
        return [h('span', { title: 'Delivered', 'aria-label': 'delivered' }, '✓✓')];
      case 'read':
        return [h('span', { title: 'Read', 'aria-label': 'read', class: 'read' }, '✓✓')];
      default: {
        if (item.kind !== 'pending') return [];
        const retry = h('button', { type: 'button', class: 'link' }, 'Retry');
        retry.addEventListener('click', () => this.#chat.retry(item.clientMessageId));
        const discard = h('button', { type: 'button', class: 'link' }, 'Discard');
        discard.addEventListener('click', () => this.#chat.discard(item.clientMessageId));
        return [h('span', { class: 'failed', title: item.entry.error?.message ?? 'Not sent' }, 'Not sent'), retry, discard];
      }
    }
  }

  #content(body: MessageBody): HTMLElement {
    switch (body.messageType) {
      case 'text':
        return h('p', { class: 'text', 'data-testid': 'message-text' }, body.content.text);
      case 'offer':
        return h(
          'div',
          { class: 'offer' },
          h('strong', {}, `Offer: ${body.content.offerAmount}${body.content.currency ? ` ${body.content.currency}` : ''}`),
          body.content.text ? h('p', { class: 'text', 'data-testid': 'message-text' }, body.content.text) : null,
        );
      case 'image': {
        const { fileUrl, fileName, text } = body.content;
        const image = h('img', { class: 'image loading', alt: fileName, 'data-testid': 'message-image' });
        image.addEventListener('load', () => {
          image.classList.remove('loading');
          // Keep the newest message in view as the picture takes its height.
          if (this.#scroller.scrollHeight - this.#scroller.scrollTop - this.#scroller.clientHeight < 400)
            this.#scroller.scrollTop = this.#scroller.scrollHeight;
        });
        this.#files.objectUrl(fileUrl).then(
          (url) => (image.src = url),
          () => {
            image.classList.add('failed');
            image.alt = `${fileName} (unavailable)`;
          },
        );
        image.addEventListener('click', () => void this.#files.objectUrl(fileUrl).then((url) => window.open(url, '_blank', 'noopener')));
        return h('figure', {}, image, text ? h('figcaption', { class: 'text', 'data-testid': 'message-text' }, text) : null);
      }
      case 'file': {
        const { fileUrl, fileName, fileSize: size, text } = body.content;
        const link = h(
          'button',
          { type: 'button', class: 'file', 'data-testid': 'message-file' },
          icon('file'),
          h('span', {}, fileName),
          h('small', {}, fileSize(size)),
        );
        link.addEventListener(
          'click',
          () => void this.#files.save(fileUrl, fileName).catch(() => this.#showToast(`Could not download ${fileName}`)),
        );
        return h('div', {}, link, text ? h('p', { class: 'text', 'data-testid': 'message-text' }, text) : null);
      }
    }
  }

  // ---- composing ------------------------------------------------------------------------------------------

  #onInput(): void {
    if (!this.#open) return;
    if (this.#text.value.trim()) {
      this.#typingIn = this.#open;
      this.#chat.typing(this.#open);
    } else {
      this.#stopTyping();
    }
  }

  #stopTyping(): void {
    if (this.#typingIn) this.#chat.stopTyping(this.#typingIn);
    this.#typingIn = undefined;
  }

  #sendText(): void {
    const id = this.#open;
    const text = this.#text.value.trim();
    if (!id || !text) return;
    this.#text.value = '';
    this.#stopTyping();
    this.#chat.sendText(id, text);
    this.#renderMessages({ toBottom: true });
  }

  async #upload(conversationId: string, file: File): Promise<void> {
    this.#uploading.hidden = false;
    this.#uploading.textContent = `Uploading ${file.name}…`;
    const answer = await this.#rest().upload(file, file.name);
    this.#uploading.hidden = true;
    if (!answer.ok) return this.#showToast(`Could not upload ${file.name}: ${answer.error.message}`);
    const { fileUrl, fileId, fileName, fileSize: size, mimeType } = answer.data;
    const content = { fileUrl, fileId, fileName, fileSize: size, mimeType };
    this.#chat.send(conversationId, mimeType.startsWith('image/') ? { messageType: 'image', content } : { messageType: 'file', content });
    if (conversationId === this.#open) this.#renderMessages({ toBottom: true });
  }
}
