/** Conversations in IndexedDB (idb): they survive reloads, offline, and app updates. */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { ChatMessage } from '../../index';

export interface StoredMessage extends ChatMessage {
  /** Figures of an assistant reply: tokens, reused prompt tokens, decode speed, references read. */
  note?: string;
}

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  /** The knowledge bank this conversation reads (explicit memory), or null. */
  bank: string | null;
  messages: StoredMessage[];
}

interface ChatDb extends DBSchema {
  conversations: { key: string; value: Conversation; indexes: { updatedAt: number } };
}

let db: Promise<IDBPDatabase<ChatDb>> | null = null;

function open(): Promise<IDBPDatabase<ChatDb>> {
  db ??= openDB<ChatDb>('memory3-chat', 1, {
    upgrade(d) {
      d.createObjectStore('conversations', { keyPath: 'id' }).createIndex('updatedAt', 'updatedAt');
    },
  });
  return db;
}

export async function listConversations(): Promise<Conversation[]> {
  return (await (await open()).getAllFromIndex('conversations', 'updatedAt')).reverse();
}

export async function getConversation(id: string): Promise<Conversation | undefined> {
  return (await open()).get('conversations', id);
}

export async function saveConversation(c: Conversation): Promise<void> {
  c.updatedAt = Date.now();
  await (await open()).put('conversations', c);
}

export async function deleteConversation(id: string): Promise<void> {
  await (await open()).delete('conversations', id);
}

export function newConversation(): Conversation {
  const now = Date.now();
  return {
    id: `c-${now.toString(36)}-${Math.random().toString(36).slice(2, 7)}`,
    title: 'New chat',
    createdAt: now,
    updatedAt: now,
    bank: null,
    messages: [],
  };
}
