// Reading a server-sent event stream from a fetch Response: the payloads of its "data: " events as
// they arrive (comments such as smoe's ": waiting" are skipped). Shared by the load and soak tests.
export async function* sseData(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (event.startsWith("data: ")) yield event.slice(6);
      }
    }
  } finally {
    // A consumer that stops early (break, or an aborted request) leaves nothing half-read behind.
    reader.cancel().catch(() => {});
  }
}
