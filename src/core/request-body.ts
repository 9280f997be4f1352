import type { IncomingMessage } from 'node:http';

/** An HTTP request's body, or null as soon as it is (or declares itself) larger than `max` bytes. */
export async function readRequestBody(req: IncomingMessage, max: number): Promise<Uint8Array | null> {
  if (Number(req.headers['content-length'] ?? 0) > max) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return null;
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
