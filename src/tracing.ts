import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

/**
 * OpenTelemetry tracing, configured by the standard OTEL_* variables. Off unless an OTLP exporter
 * is asked for; then the SDK is loaded (lazily: a server without tracing never imports it).
 * Span attributes hold names, codes and statuses only, never a value, a key, variables or
 * statement parameters.
 */

export interface TracingSettings {
  enabled: boolean;
  protocol: 'http/json' | 'http/protobuf';
}

export function tracingSettings(env: Record<string, string | undefined> = process.env): TracingSettings {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || exporter === 'none';
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim().toLowerCase();
  return {
    enabled: !disabled && (exporter === 'otlp' || Boolean(endpoint)),
    protocol: protocol === 'http/json' ? 'http/json' : 'http/protobuf',
  };
}

let active = false;

/** True once startTracing ran: instrumentation that costs something is only installed then. */
export function tracingEnabled(): boolean {
  return active;
}

export interface Tracing {
  /** Sends what is still buffered; call before the process exits. */
  shutdown(): Promise<void>;
}

/** Registers the tracer provider, the OTLP exporter and Prisma's instrumentation. */
export async function startTracing(settings: TracingSettings, serviceVersion: string): Promise<Tracing | undefined> {
  if (!settings.enabled) return undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { resourceFromAttributes, envDetector, detectResources }, { PrismaInstrumentation }] =
    await Promise.all([import('@opentelemetry/sdk-trace-node'), import('@opentelemetry/resources'), import('@prisma/instrumentation')]);
  const { OTLPTraceExporter } =
    settings.protocol === 'http/json'
      ? await import('@opentelemetry/exporter-trace-otlp-http')
      : await import('@opentelemetry/exporter-trace-otlp-proto');
  const resource = resourceFromAttributes({ 'service.name': 'coffer', 'service.version': serviceVersion }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  // Registers the W3C trace-context propagator too, so a caller's `traceparent` is honoured.
  provider.register();
  const prisma = new PrismaInstrumentation();
  prisma.setTracerProvider(provider);
  prisma.enable();
  active = true;
  return {
    async shutdown() {
      prisma.disable();
      active = false;
      await provider.shutdown();
    },
  };
}

export const tracer = () => trace.getTracer('coffer');

/** Runs `work` in a child span of the active one; an exception marks the span as an error (its message is not recorded). */
export function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
      throw error;
    } finally {
      span.end();
    }
  });
}

export { SpanKind, SpanStatusCode };
