// A reader of text/event-stream responses (the revocation feed, GET /revocations), as the
// WHATWG HTML Living Standard §9.2 server-sent events format frames them: events end with a
// blank line, `field: value` lines, lines starting with ':' are comments.
export interface StreamEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** The events of the response's body as they arrive; leaving the loop cancels the stream. */
export async function* readEventStream(response: Response): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const event: StreamEvent = {};
      for (const line of buffer.slice(0, end).split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const name = line.slice(0, line.indexOf(':'));
        if (name === 'id' || name === 'event' || name === 'data') event[name] = line.slice(line.indexOf(':') + 1).trim();
      }
      buffer = buffer.slice(end + 2);
      yield event;
    }
  }
}
