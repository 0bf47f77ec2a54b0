import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient, ChatRest } from '@chat/client';
import { signToken, waitFor } from '@chat/testing';
import { useSystem } from '../support/system.ts';
import { samples } from '../support/uploads.ts';

/** The SDK's REST helpers against a real gateway and uploads service. */
const system = useSystem({ uploads: true });
const clients: ChatClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

async function clientOf(userId: string): Promise<{ client: ChatClient; rest: ChatRest }> {
  const client = new ChatClient({ urls: [system.gateway.url], token: await signToken({ userId }) });
  clients.push(client);
  await client.connect();
  return { client, rest: new ChatRest({ baseUrl: system.gateway.url, token: () => client.token }) };
}

describe('the client SDK over REST', () => {
  it('opens a conversation, lists it, pages its history, uploads and downloads a file sent in it', async () => {
    const mia = await clientOf('sdk-mia');
    const ned = await clientOf('sdk-ned');
    const opened = await mia.rest.openConversation('sdk-ned');
    if (!opened.ok) throw new Error(opened.error.code);
    const { conversationId } = opened.data;
    for (const text of ['1', '2', '3']) expect((await mia.client.sendText(conversationId, text).result).ok).toBe(true);

    // The conversation's write follows the deliveries: wait until the list shows the third message.
    let list = await ned.rest.conversations();
    await waitFor(async () => (list = await ned.rest.conversations()).ok && list.data[0]?.lastSeq === 3);
    expect(list).toMatchObject({ ok: true, data: [{ _id: conversationId, lastSeq: 3, unreadCount: 3, otherUser: { _id: 'sdk-mia' } }] });
    const page = await ned.rest.history(conversationId, { limit: 2 });
    expect(page.ok && page.data.messages.map((m) => m.seq)).toEqual([2, 3]);
    const after = await ned.rest.history(conversationId, { after: 1 });
    expect(after.ok && after.data.messages.map((m) => m.seq)).toEqual([2, 3]);

    const png = samples.png();
    const uploaded = await mia.rest.upload(new Blob([new Uint8Array(png)], { type: 'image/png' }), 'plan.png');
    if (!uploaded.ok) throw new Error(uploaded.error.code);
    expect(uploaded.data).toMatchObject({ fileName: 'plan.png', mimeType: 'image/png', fileSize: png.length });
    const { fileUrl, fileId, fileName, fileSize } = uploaded.data;
    const sent = await mia.client.send(conversationId, { messageType: 'image', content: { fileUrl, fileId, fileName, fileSize } }).result;
    expect(sent.ok).toBe(true);
    await waitFor(() => ned.client.timeline(conversationId).messages.some((m) => m.messageType === 'image'));
    const file = await ned.rest.download(fileUrl);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(png)).toBe(true);

    const refused = await ned.rest.history('sdk-mia_sdk-zed');
    expect(refused).toMatchObject({ ok: false, error: { code: 'NOT_PARTICIPANT' } });
  });
});
