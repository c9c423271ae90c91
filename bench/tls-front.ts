/**
 * TLS in front of the loopback Daraja fake, in a process of its own: production refuses a plain
 * http MPESA_BASE_URL, so the server is given this https address and trusts its throwaway
 * certificate through NODE_EXTRA_CA_CERTS. It also makes the server pay for TLS towards Daraja,
 * as it does in production. Arguments: certificate directory, the fake's port; reports its own
 * port over IPC.
 */
import { readFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:tls';

const [directory, targetPort] = process.argv.slice(2) as [string, string];
const server = createServer({ key: readFileSync(join(directory, 'key.pem')), cert: readFileSync(join(directory, 'cert.pem')) }, (secure) => {
  const plain = connect(Number(targetPort), '127.0.0.1');
  secure.pipe(plain).pipe(secure);
  // Either side going away takes the other with it; a reset is the normal end of a keep-alive socket.
  secure.on('error', () => plain.destroy());
  plain.on('error', () => secure.destroy());
  secure.on('close', () => plain.destroy());
  plain.on('close', () => secure.destroy());
});
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
process.once('disconnect', () => process.exit(0));
