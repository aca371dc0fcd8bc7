/**
 * Internal: the server side of an in-process session (a client in this process dialing
 * `inprocess@name`): messages are handed over in a microtask, no socket, no framing.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import type { InprocessSession } from "../transport/inprocess.ts";
import type { Link, ServerConnection } from "./_connection.ts";

/**
 * Attaches an in-process link to `sc` and returns the session the client side uses; `accept`
 * registers the connection with the server (false: refused, the session is closed at once).
 */
export function openInprocessSession(
  sc: ServerConnection,
  deliver: (msg: Message) => void,
  closed: () => void,
  accept: () => boolean,
): InprocessSession {
  let open = true;
  const link: Link = {
    send: (m) => {
      if (open) queueMicrotask(() => open && deliver(m));
    },
    close: () => {
      if (!open) return;
      open = false;
      queueMicrotask(closed);
    },
    drained: () => new Promise((r) => queueMicrotask(r)),
  };
  sc.attach(link);
  if (!accept()) {
    open = false;
    queueMicrotask(closed);
  }
  return {
    send: (msg) => {
      if (open) sc.onMessage(msg);
    },
    close: () => {
      if (!open) return;
      open = false;
      sc.linkClosed();
    },
  };
}
