import { useSignal } from "@preact/signals";

export interface StopButtonProps {
  runId: number;
  /** The dashboard's CSRF token (also in the form for browsers without JavaScript). */
  token: string;
}

/**
 * Stops a running run after a confirmation. Without JavaScript the form posts to
 * `/runs/:id/stop`, which asks for confirmation on its own page; with it, a confirm dialog and
 * then `POST /api/runs/:id/stop` with the token in `X-CMCS-Token`.
 */
export function StopButton({ runId, token }: StopButtonProps) {
  const state = useSignal<"idle" | "stopping" | "done" | "error">("idle");
  const message = useSignal("");
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (state.value === "stopping") return;
    if (!confirm(`Stop run #${runId}? Its worker and every process it started will be ended.`)) {
      return;
    }
    state.value = "stopping";
    message.value = "";
    try {
      const response = await fetch(`/api/runs/${runId}/stop`, {
        method: "POST",
        headers: { "X-CMCS-Token": token },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        state.value = "error";
        message.value = body.error ?? `HTTP ${response.status}`;
        return;
      }
      state.value = "done";
      message.value = `run ${body.status}`;
      setTimeout(() => location.reload(), 600);
    } catch (error) {
      state.value = "error";
      message.value = String(error);
    }
  };
  return (
    <form class="inline stop" method="post" action={`/runs/${runId}/stop`} onSubmit={onSubmit}>
      <input type="hidden" name="_token" value={token} />
      <button
        type="submit"
        class="danger"
        disabled={state.value === "stopping" || state.value === "done"}
        data-stop-run={runId}
      >
        {state.value === "stopping" ? "Stopping…" : "Stop"}
      </button>
      {message.value && (
        <span class={state.value === "error" ? "note error-text" : "note"}>{message.value}</span>
      )}
    </form>
  );
}
