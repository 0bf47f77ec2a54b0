// The image's HEALTHCHECK: GET /healthz on the service's operations port (OPS_PORT, read through the service's
// own configuration schema, so its default applies when the variable is unset). A service whose configuration has
// no OPS_PORT has no health endpoint; it is reported healthy while its process runs, which is all Docker can know.
const service = process.env.CHAT_SERVICE;
const config = await import(new URL(`./services/${service}/dist/config.js`, import.meta.url).href);
const schema = Object.entries(config).find(([name]) => name.endsWith('ConfigSchema'))?.[1];
// As the service's loadConfig does: empty values count as unset.
const env = Object.fromEntries(Object.entries(process.env).filter(([, value]) => value?.trim()));
const parsed = schema?.safeParse(env);
if (!parsed?.success) {
  console.log(`${service}: configuration does not parse`);
  process.exit(1);
}
const port = parsed.data.OPS_PORT;
if (port === undefined) {
  console.log(`${service}: no health endpoint; the process is running`);
  process.exit(0);
}
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  console.log(`${service}: ${response.status}`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.log(`${service}: ${error.message}`);
  process.exit(1);
}
