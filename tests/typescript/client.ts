// A small client written against the types openapi-typescript generates from the API's
// OpenAPI document (tests/tests/openapi_clients.rs generates api.d.ts beside this file and
// compiles both with `tsc --strict`). It uses the named types an integrator would.
import type { components, paths } from "./api";

type Task = components["schemas"]["Task"];
type TaskStatus = components["schemas"]["TaskStatus"];
type TaskAction = components["schemas"]["TaskAction"];
type CreateTaskRequest = components["schemas"]["CreateTaskRequest"];
type ErrorBody = components["schemas"]["Error"];
type TeamStatus = components["schemas"]["TeamStatus"];

type ListTeamTasks =
  paths["/v1.0/teams/{teamIdentifier}/tasks"]["get"]["responses"]["200"]["content"]["application/json"];
type Hold =
  paths["/v1.0/tasks/{taskIdentifier}/hold"]["post"]["responses"]["200"]["content"]["application/json"];

/// Every /v1.0 request carries the `api_key` header (not Authorization).
async function call<T>(base: string, key: string, method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { api_key: key, "Content-Type": "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
  }
  const response = await fetch(base + path, init);
  if (!response.ok) {
    const error = (await response.json()) as ErrorBody;
    throw new Error(`${error.Error.Code}: ${error.Error.Message}`);
  }
  return (await response.json()) as T;
}

export async function waitingCalls(base: string, key: string, team: string): Promise<Task[]> {
  const tasks = await call<ListTeamTasks>(base, key, "GET", `/v1.0/teams/${encodeURIComponent(team)}/tasks`);
  const waiting: TaskStatus = "Queued";
  return tasks.filter((task) => task.Status === waiting && task.Type === "IncomingCall");
}

export async function holdIfAllowed(base: string, key: string, task: Task): Promise<number> {
  const hold: TaskAction = "Hold";
  if (!task.AllowedActions.includes(hold)) {
    return task.Version;
  }
  const done = await call<Hold>(base, key, "POST", `/v1.0/tasks/${task.Id}/hold`);
  return done.Version;
}

export function newCall(uri: string, name: string | null): CreateTaskRequest {
  return { Type: "IncomingCall", Customer: { Uri: uri, DisplayName: name }, Priority: "High" };
}

export function transferredTo(task: Task): string | null {
  // Always sent (null when not transferred): no `undefined` to handle.
  return task.TransferredTo === null ? null : task.TransferredTo.Uri;
}

export const activeOnly: TeamStatus = "Active";
