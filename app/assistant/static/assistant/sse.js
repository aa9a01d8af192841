// Server-sent events read from a fetch() response. EventSource cannot POST a body or send an
// Authorization header, so the chat page reads the stream itself. The network cuts the stream
// wherever it likes: a frame may arrive in several reads (even inside one UTF-8 character or
// between "\r" and "\n"), and one read may carry several frames. Only whole events reach the
// caller, in order; an event cut off by the end of the stream never does (as in EventSource).
(function (global) {
  "use strict";

  const LINE_END = /\r\n|\r|\n/g;

  // push(text) takes decoded text in any pieces, end() marks the end of the stream; onData(data)
  // gets each event's data (its "data:" lines joined by "\n") once the blank line that ends the
  // event has arrived.
  function createParser(onData) {
    let buffer = "";
    let data = [];

    function line(text) {
      if (text === "") {
        if (data.length) {
          const event = data.join("\n");
          data = [];
          onData(event);
        }
        return;
      }
      if (text[0] === ":") return; // a comment (keep-alive)
      const colon = text.indexOf(":");
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? "" : text.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
      if (field === "data") data.push(value);
      // "event", "id" and "retry" carry nothing the chat-completions stream uses.
    }

    return {
      push(text) {
        buffer += text;
        LINE_END.lastIndex = 0;
        let start = 0;
        let match;
        while ((match = LINE_END.exec(buffer)) !== null) {
          // A "\r" that ends the buffer may be the first half of "\r\n": wait for the next piece.
          if (match[0] === "\r" && match.index === buffer.length - 1) break;
          line(buffer.slice(start, match.index));
          start = LINE_END.lastIndex;
        }
        buffer = buffer.slice(start);
      },
      // The stream ended: a "\r" held back above was a line end after all. Whatever event is
      // still incomplete is dropped.
      end() {
        if (buffer.endsWith("\r")) line(buffer.slice(0, -1));
        buffer = "";
        data = [];
      },
    };
  }

  // Reads `response.body` to its end, calling onData(data) for every whole event as soon as it
  // has arrived. Resolves when the server closes the stream; rejects when the connection breaks
  // or onData throws (the read is then cancelled, which closes the connection).
  async function readEvents(response, onData) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = createParser(onData);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, { stream: true }));
      }
      parser.push(decoder.decode());
      parser.end();
    } catch (error) {
      reader.cancel().catch(() => {});
      throw error;
    }
  }

  global.WazenSSE = { createParser, readEvents };
})(window);
