/**
 * A reference to one key of a Kubernetes Secret: how every secret in a topology is given
 * (federation credentials, receivers' tokens, SMTP password). Never a literal value.
 */
import { z } from 'zod';

/** Kubernetes object names (DNS-1123 subdomain) and Secret data keys. */
const K8S_NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY_RE = /^[-._a-zA-Z0-9]+$/;

export const secretNameSchema = z
  .string()
  .max(253)
  .refine((s) => K8S_NAME_RE.test(s), {
    error: (iss) =>
      `invalid Secret name ${JSON.stringify(iss.input)} (lower-case letters, digits, '-' and '.')`,
  });

export const secretRefSchema = z.strictObject({
  name: secretNameSchema,
  key: z.string().refine((s) => SECRET_KEY_RE.test(s), {
    error: (iss) => `invalid Secret key ${JSON.stringify(iss.input)} (letters, digits, '-', '_' and '.')`,
  }),
});
