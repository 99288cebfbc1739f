// A POST through plain node:http with a keep-alive pool, for load generators (device fleets, benches): they share the
// cores with the api they drive, and undici's fetch costs several times more per request than http.request.
import { request as httpRequest, type Agent } from 'node:http';

export interface PostReply {
  status: number;
  body: string;
}

export function postText(agent: Agent, url: string, headers: Record<string, string>, body: string): Promise<PostReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
