import { describe, expect, it } from 'vitest';
import { ConversationIdSchema, conversationIdOf, otherParticipant, parseConversationId, UserIdSchema, type UserId } from './ids.ts';
import { partitionOf } from './messages-service.ts';

const id = (value: string) => value as UserId;

describe('conversation ids', () => {
  it('are the sorted pair joined by "_", whoever starts', () => {
    expect(conversationIdOf(id('user456'), id('user123'))).toBe('user123_user456');
    expect(conversationIdOf(id('user123'), id('user456'))).toBe('user123_user456');
  });

  it('sort like the spec clients do (JavaScript default sort)', () => {
    expect(conversationIdOf(id('b'), id('B'))).toBe(['b', 'B'].sort().join('_'));
    expect(conversationIdOf(id('64f1'), id('z9'))).toBe(['z9', '64f1'].sort().join('_'));
  });

  it('name their participants', () => {
    expect(parseConversationId('a_b')).toEqual(['a', 'b']);
    const conversation = ConversationIdSchema.parse('a_b');
    expect(otherParticipant(conversation, id('a'))).toBe('b');
    expect(otherParticipant(conversation, id('b'))).toBe('a');
    expect(otherParticipant(conversation, id('c'))).toBeUndefined();
  });

  it.each(['b_a', 'a_a', 'a', 'a_b_c', '_a', 'a_', 'a.b_c', 'a_b*', 'a b_c', '', 'a_>'])('refuse %j', (value) => {
    expect(parseConversationId(value)).toBeUndefined();
    expect(ConversationIdSchema.safeParse(value).success).toBe(false);
  });
});

describe('user ids', () => {
  it.each(['user123', '64f1a2b3c4d5e6f708192a3b', '3f1c2d4e-1111-4a4a-9b9b-0123456789ab'])('accept %s', (value) => {
    expect(UserIdSchema.safeParse(value).success).toBe(true);
  });

  it.each(['', 'a_b', 'a.b', 'a*', 'a>', 'a b', '$where', 'x'.repeat(65)])(
    'refuse %j (unsafe as a subject token or Mongo path)',
    (value) => {
      expect(UserIdSchema.safeParse(value).success).toBe(false);
    },
  );
});

describe('partitionOf', () => {
  it('is stable and spreads conversations over every partition', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const conversation = conversationIdOf(id(`u${i}`), id(`v${i}`));
      const partition = partitionOf(conversation, 16);
      expect(partition).toBe(partitionOf(conversation, 16));
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(16);
      seen.add(partition);
    }
    expect(seen.size).toBe(16);
  });
});
