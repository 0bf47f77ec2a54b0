import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ChatError, channel as channelOf, endpointsOf, type Channel, type Namespace } from '@chat/contracts';
import { createLogger } from '@chat/logger';
import { pino } from 'pino';
import { createTestContext } from '@chat/testing';
import { Bus } from './bus.ts';
import { createService } from './service-endpoint.ts';
import { ensureStream } from './streams.ts';

const ctx = createTestContext();
const logger = createLogger({ service: 'bus-test', level: 'silent' });
let bus: Bus;

const Greeting = z.object({ name: z.string().min(1) });
const greetings: Channel<z.infer<typeof Greeting>> = channelOf(`${ctx.namespace}.test.greeting`, Greeting, 'test.greeting');
const Reply = z.object({ text: z.string() });
/** The endpoints of a test service `<ns>-<suffix>`. */
const endpointOf = (suffix: string, name: string) =>
  endpointsOf(ctx.namespace as Namespace, `${ctx.namespace}-${suffix}`)(name, Greeting, Reply, {
    summary: 'a test endpoint',
    callers: ['bus-test'],
  });
/** Answers counted by the service wrapper. */
const answers: Array<[string, string]> = [];
const countAnswer = (endpoint: string, outcome: string) => void answers.push([endpoint, outcome]);

beforeAll(async () => {
  bus = await Bus.connect({ servers: [ctx.natsUrl], name: 'bus-test', logger });
});
afterAll(async () => {
  await bus?.close();
  await ctx.cleanup();
});

describe('Bus.connect', () => {
  it('fails fast with a clear message when NATS cannot be reached', async () => {
    const started = Date.now();
    await expect(Bus.connect({ servers: ['nats://127.0.0.1:1'], name: 'x', logger, connectTimeoutMs: 2000 })).rejects.toThrow(
      /cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('typed publish and subscribe', () => {
  it('refuses to publish a payload its channel does not allow', () => {
    expect(() => bus.publish(greetings, { name: '' })).toThrow(ChatError);
  });

  it('drops what fails the schema on arrival and delivers the rest', async () => {
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      bus.subscribe(greetings, ({ name }) => {
        seen.push(name);
        if (name === 'last') resolve();
      });
    });
    await bus.nc.flush();
    bus.nc.publish(greetings.subject, 'not json');
    bus.nc.publish(greetings.subject, JSON.stringify({ name: 42 }));
    bus.publish(greetings, { name: 'ok' });
    bus.publish(greetings, { name: 'last' });
    await done;
    expect(seen).toEqual(['ok', 'last']);
  });

  it('carries W3C trace context in headers to the handler', async () => {
    // What the OpenTelemetry SDK registers in a service.
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
      const channel = { ...greetings, subject: `${ctx.namespace}.test.traced` };
      const received = new Promise<{ traceparent: string | undefined; activeTraceId: string | undefined }>((resolve) => {
        bus.subscribe(channel, (_payload, msg) => {
          resolve({
            traceparent: msg.headers?.get('traceparent'),
            activeTraceId: trace.getSpanContext(context.active())?.traceId,
          });
        });
      });
      await bus.nc.flush();
      context.with(trace.setSpanContext(context.active(), spanContext), () => bus.publish(channel, { name: 'traced' }));
      const { traceparent, activeTraceId } = await received;
      expect(traceparent).toBe(`00-${spanContext.traceId}-${spanContext.spanId}-01`);
      expect(activeTraceId).toBe(spanContext.traceId);
    } finally {
      propagation.disable();
      context.disable();
    }
  });
});

describe('request to a service endpoint', () => {
  it('returns the validated reply, rebuilds a ChatError the handler threw, and counts every answer', async () => {
    const greet = endpointOf('greeter', 'greet');
    const service = await createService(bus, { name: greet.service, version: '0.0.1', logger, countAnswer });
    service.serve(greet, async ({ name }) => {
      if (name === 'nobody') throw new ChatError('NOT_FOUND', 'no such person');
      return { text: `hello ${name}` };
    });
    answers.length = 0;
    await expect(bus.request(greet, { name: 'ann' })).resolves.toEqual({ text: 'hello ann' });
    await expect(bus.request(greet, { name: 'nobody' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such person' });
    expect(answers).toEqual([
      ['greet', 'ok'],
      ['greet', 'error'],
    ]);
    await service.stop();
    await expect(bus.request(greet, { name: 'ann' }, { timeoutMs: 500 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it("refuses to serve another service's endpoint", async () => {
    const service = await createService(bus, { name: `${ctx.namespace}-one`, version: '0.0.1', logger, countAnswer });
    expect(() => service.serve(endpointOf('other', 'greet'), async () => ({ text: '' }))).toThrow(/cannot serve/);
    await service.stop();
  });
});

describe('a reply that fails its schema', () => {
  /** A logger that keeps what it writes. */
  function recordingLogger() {
    const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
    return { lines, logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
  }

  it('is an INTERNAL_ERROR with a generic message when the service produced it, and the service logs why', async () => {
    const { lines, logger: serviceLogger } = recordingLogger();
    const broken = endpointOf('broken', 'broken');
    const service = await createService(bus, { name: broken.service, version: '0.0.1', logger: serviceLogger, countAnswer });
    service.serve(broken, async () => ({ text: 42 }) as never);
    const error = await bus.request(broken, { name: 'ann' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: 'INTERNAL_ERROR', message: 'Internal error', details: undefined });
    const logged = lines.find((line) => line.level === 50);
    expect(logged).toMatchObject({ endpoint: 'broken', subject: broken.subject, msg: 'reply failed its schema' });
    expect(JSON.stringify(logged?.issues)).toContain('text');
    await service.stop();
  });

  it('is an INTERNAL_ERROR on the requesting side too, logged there', async () => {
    const { lines, logger: clientLogger } = recordingLogger();
    const client = await Bus.connect({ servers: [ctx.natsUrl], name: 'bus-test-client', logger: clientLogger });
    const raw = endpointOf('raw', 'raw');
    const sub = bus.nc.subscribe(raw.subject, { callback: (_e, msg) => void msg.respond(JSON.stringify({ text: 42 })) });
    await bus.nc.flush();
    const error = await client.request(raw, { name: 'ann' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INTERNAL_ERROR', message: 'Internal error' });
    expect(lines.find((line) => line.level === 50)).toMatchObject({ subject: raw.subject, msg: 'reply failed its schema' });
    sub.unsubscribe();
    await client.close();
  });

  it('leaves an invalid request a VALIDATION_ERROR', async () => {
    const strict = endpointOf('strict', 'strict');
    const service = await createService(bus, { name: strict.service, version: '0.0.1', logger, countAnswer });
    service.serve(strict, async ({ name }) => ({ text: name }));
    await bus.nc.flush();
    const reply = await bus.nc.request(strict.subject, JSON.stringify({ name: 7 }));
    expect(JSON.parse(reply.string())).toMatchObject({ code: 'VALIDATION_ERROR' });
    await service.stop();
  });
});

describe('ensureStream', () => {
  it('is idempotent and safe to run concurrently', async () => {
    const config = { name: `${ctx.namespace.toUpperCase()}_ENSURE`, subjects: [`${ctx.namespace}.ensure.>`] };
    await Promise.all([ensureStream(bus, config), ensureStream(bus, config), ensureStream(bus, config)]);
    await ensureStream(bus, { ...config, max_msgs: 10 });
    expect((await bus.jsm.streams.info(config.name)).config.max_msgs).toBe(10);
  });
});
