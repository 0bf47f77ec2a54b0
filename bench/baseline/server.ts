/**
 * The spec's own design, for comparison: one process, Socket.IO, the JWT checked at the handshake, and the
 * "Chat Handler Example" writing to MongoDB inline — insert the message, update the conversation's last
 * message and unread count, emit `new_message` to the conversation room and `message_delivered` to the
 * sender. Only two things are added so the same load generator drives it: an optional ack callback (answered
 * with the stored message, as ours does) and the raw MongoDB driver in place of the spec's ORM (which can only
 * make the baseline faster). No idempotency, ordering or crash safety: that is the point of comparison.
 *
 * Env: PORT (0: any), MONGO_URL (with the database), JWT_SECRET. Prints one JSON line `{"port":…}` when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { MongoClient, ObjectId } from 'mongodb';
import { Server, type Socket } from 'socket.io';

const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/chat_baseline';
const secret = new TextEncoder().encode(process.env.JWT_SECRET ?? '');
// At most 20 operations at once: FerretDB v1 (our MongoDB here) can deadlock when more operations than its
// PostgreSQL pool (50) wait while another client creates a collection. 20 saturate this 2-core machine.
const mongo = new MongoClient(mongoUrl, { appName: 'baseline', maxPoolSize: 20, monitorCommands: true });
// Counted as ours are (the driver's command monitoring), for the bench's "MongoDB commands per message".
const commandsSent = new Map<string, number>();
mongo.on('commandStarted', (event) => commandsSent.set(event.commandName, (commandsSent.get(event.commandName) ?? 0) + 1));
await mongo.connect();
const db = mongo.db();
const messages = db.collection('messages');
const conversations = db.collection<{ _id: string }>('conversations');

// Only for the bench: the command counts, in the Prometheus text format our services use.
const httpServer = createServer((request, response) => {
  if (request.url !== '/bench/metrics') return;
  response.setHeader('content-type', 'text/plain');
  response.end([...commandsSent].map(([command, n]) => `chat_mongodb_commands_total{command="${command}"} ${n}`).join('\n'));
});
const io = new Server(httpServer, { cors: { origin: '*', methods: ['GET', 'POST'] }, pingTimeout: 60_000, pingInterval: 25_000 });

// The spec's authMiddleware.
io.use(async (socket, next) => {
  try {
    const header = socket.handshake.headers.authorization;
    const token = (socket.handshake.auth as { token?: string }).token || header?.split(' ')[1];
    if (!token) return next(new Error('Authentication token required'));
    const { payload } = await jwtVerify(token, secret);
    socket.data.userId = payload.userId;
    socket.data.email = payload.email;
    socket.data.role = payload.role;
    next();
  } catch {
    next(new Error('Invalid authentication token'));
  }
});

type Ack = ((answer: unknown) => void) | undefined;

function registerChatHandlers(socket: Socket): void {
  socket.on('join_conversation', async ({ conversationId }: { conversationId: string }) => {
    await socket.join(conversationId);
  });

  socket.on(
    'send_message',
    async (data: { conversationId: string; receiverId: string; messageType: string; content: { text?: string } }, ack: Ack) => {
      try {
        const { conversationId, receiverId, messageType, content } = data;
        const senderId = socket.data.userId as string;
        const message = {
          _id: new ObjectId(),
          conversationId,
          senderId,
          receiverId,
          messageType,
          content,
          status: 'sent',
          timestamp: new Date(),
        };
        await messages.insertOne(message);
        await conversations.findOneAndUpdate(
          { _id: conversationId },
          {
            $set: { lastMessage: { text: content.text || 'File', senderId, timestamp: new Date() } },
            $inc: { [`unreadCount.${receiverId}`]: 1 },
          },
        );
        io.to(conversationId).emit('new_message', message);
        socket.emit('message_delivered', { messageId: message._id });
        if (typeof ack === 'function') ack({ ok: true, data: message });
      } catch (error) {
        socket.emit('error', { message: 'Failed to send message' });
        if (typeof ack === 'function') ack({ ok: false, error: { code: 'SEND_FAILED', message: String(error) } });
      }
    },
  );
}

io.on('connection', (socket) => registerChatHandlers(socket));

httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'ready', port: (httpServer.address() as AddressInfo).port }));
});

const stop = () => {
  io.close();
  void mongo.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
