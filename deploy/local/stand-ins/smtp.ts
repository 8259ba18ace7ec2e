/**
 * A local SMTP relay that delivers nowhere: `fedstack up` points Alertmanager's email at it, so
 * the stack never mails the internet. It demands the username and password the topology's
 * routing gives (Alertmanager reads the password from its file, as in production) and stores
 * each message as an .eml file (0600) in its mail directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { Secret } from '../../../common/secret.ts';

export interface SmtpSinkOptions {
  /** The login the relay accepts (routing.email.authUsername); none: no authentication asked. */
  readonly username?: string;
  readonly password?: Secret;
  readonly mailDir: string;
}

export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  /** Where the message is stored. */
  readonly file: string;
}

export interface SmtpSink {
  /** host:port, for smtp_smarthost. */
  readonly smarthost: string;
  readonly mails: readonly ReceivedMail[];
  /** Logins it refused (the username only). */
  readonly refused: readonly string[];
  close(): Promise<void>;
}

export async function startSmtpSink(o: SmtpSinkOptions): Promise<SmtpSink> {
  mkdirSync(o.mailDir, { recursive: true, mode: 0o700 });
  const mails: ReceivedMail[] = [];
  const refused: string[] = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback: Go's net/smtp sends PLAIN credentials unencrypted only to localhost.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: o.username === undefined,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === o.username && auth.password === o.password?.reveal())
        cb(null, { user: auth.username });
      else {
        refused.push(auth.username ?? '');
        cb(new Error('Invalid username or password'));
      }
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const file = join(o.mailDir, `${String(mails.length + 1).padStart(4, '0')}.eml`);
        writeFileSync(file, raw, { mode: 0o600 });
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: /^Subject: (.*)$/im.exec(raw)?.[1]?.trim() ?? '',
          file,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    smarthost: `127.0.0.1:${port}`,
    mails,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
