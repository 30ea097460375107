// What HyperKitty's answer to an archive POST means (hyperkitty.ts sends
// it). Pure: status, body and Location in; stored, failed, or a
// configuration problem a person must fix out. Answers as HyperKitty 1.3.7
// gives them (mailman.py's archive view and its key_and_ip_auth check).

export interface Answer {
  status: number;
  text: string;
  location: string | null;
}

export type Outcome =
  | { type: "stored" }
  /** `heard`: HyperKitty itself answered, past its key and address checks. */
  | { type: "failed"; transient: boolean; message: string; heard?: boolean };

/** A configuration problem: every message would fail alike until someone fixes it. Retried. */
export type Reading = Outcome | { type: "problem"; message: string };

/** How every problem ends: what the peer does meanwhile. */
export const PAUSED = "archiving to it is paused and retried until that is fixed";
const EXCERPT = 300;

export function readAnswer(a: Answer, where: { url: string; keyFile: string }): Reading {
  const { status } = a;
  const problem = (message: string): Reading => ({ type: "problem", message: `${message}; ${PAUSED}` });
  if (status === 200) {
    // A proxy's page or another application answering 200 must not pass for stored.
    if (answersUrl(a.text)) return { type: "stored" };
    return problem(`${where.url} answered 200 without HyperKitty's {"url": ...}: is the sink's URL HyperKitty's base?`);
  }
  if (status === 400) {
    return { type: "failed", transient: false, heard: true, message: `HyperKitty refused the message (400): ${errorText(a.text)}` };
  }
  if (status === 401) {
    return problem(
      `HyperKitty at ${where.url} refused the archiver key (401): ${where.keyFile} does not hold its MAILMAN_ARCHIVER_KEY ` +
        "(the file is read again at each retry: no restart needed)",
    );
  }
  if (status === 403) {
    return problem(`HyperKitty at ${where.url} refused this host (403): add the address it sees the subscriber come from to its MAILMAN_ARCHIVER_FROM`);
  }
  if (status >= 300 && status < 400) {
    return problem(`${where.url} redirects (${status}) to ${a.location ?? "(no Location)"}: give the sink the base URL it redirects to`);
  }
  if (status === 404 || status === 405) {
    return problem(`${where.url} answered ${status}: not HyperKitty's archive API (is the sink's URL HyperKitty's base, with its /hyperkitty/ prefix if it has one?)`);
  }
  const detail = excerpt(a.text);
  if (status === 408 || status === 429 || status >= 500) {
    return {
      type: "failed",
      transient: true,
      message: `HyperKitty at ${where.url} answered ${status}${detail}; retrying (if it stored the message already, the retry answers 200)`,
    };
  }
  return { type: "failed", transient: false, message: `HyperKitty at ${where.url} answered ${status}${detail}` };
}

function answersUrl(text: string): boolean {
  try {
    const body = JSON.parse(text) as { url?: unknown };
    return typeof body?.url === "string";
  } catch {
    return false;
  }
}

/**
 * HyperKitty's {"error": ...}, which is the repr of a ValueError's args:
 * ("No 'Message-Id' header in email", <email.message.EmailMessage object at 0x7f...>).
 * The message object's address helps no one: keep the text.
 */
function errorText(text: string): string {
  let error: string;
  try {
    const body = JSON.parse(text) as { error?: unknown };
    error = typeof body?.error === "string" ? body.error : text;
  } catch {
    error = text;
  }
  const repr = /^\(\s*(["'])(.*)\1\s*,\s*<[\w.]+ object at 0x[0-9a-f]+>\s*\)$/s.exec(error.trim());
  return (repr?.[2] ?? excerpt(error).replace(/^: /, "")).slice(0, EXCERPT);
}

/** ": " and the text of a body (an HTML page's tags dropped), short, or nothing. */
function excerpt(text: string): string {
  const plain = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  if (plain === "") return "";
  return `: ${plain.length > EXCERPT ? `${plain.slice(0, EXCERPT)}…` : plain}`;
}
