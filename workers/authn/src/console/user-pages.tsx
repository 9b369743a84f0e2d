import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { adminCall, type Problem } from "./admin-call.ts";
import { ConsoleLayout, Notice, ProblemNotice } from "./console-layout.tsx";
import { formFields } from "./form.ts";
import type { ConsoleContext } from "./types.ts";

interface Person {
  id: string;
  email: string;
  name: string;
  created_at: string;
  banned_at: string | null;
}
interface Ban {
  revoked_in_orgs: string[];
  sessions_ended: number;
}

const usersUrl = `${ENDPOINT.console}/users`;

/** GET /console/users?email=: people (platform operators), with ban and unban (admin API /users). */
export async function usersPage(c: ConsoleContext, once: { notice?: string; problem?: Problem } = {}) {
  const email = c.req.query("email") ?? "";
  const people = await adminCall<{ users: Person[] }>(
    c,
    "GET",
    `/users${email ? `?email=${encodeURIComponent(email)}` : ""}`,
  );
  return c.html(
    <ConsoleLayout title="People" nonce={c.var.nonce} caller={c.var.caller}>
      <Notice text={once.notice} />
      <ProblemNotice problem={once.problem ?? (people.ok ? undefined : people.problem)} />
      <form method="get" action={usersUrl} class="row">
        <label>
          Email
          <input name="email" type="email" value={email} />
        </label>
        <button type="submit" class="secondary">
          Find
        </button>
      </form>
      <table data-testid="users">
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>User id</th>
            <th>Since</th>
            <th>Banned</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(people.ok ? people.body.users : []).map((p) => (
            <tr data-testid="user-row">
              <td>{p.name}</td>
              <td>{p.email}</td>
              <td>
                <code>{p.id}</code>
              </td>
              <td>{p.created_at}</td>
              <td data-testid="user-banned">{p.banned_at ?? "-"}</td>
              <td>
                <form
                  method="post"
                  class="inline"
                  action={`${usersUrl}/${encodeURIComponent(p.id)}/${p.banned_at ? "unban" : "ban"}`}
                >
                  <button type="submit" class={p.banned_at ? "secondary" : ""}>
                    {p.banned_at ? "Lift ban" : "Ban"}
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ConsoleLayout>,
  );
}

/** POST /console/users/{id}/ban|unban. */
export function banUser(action: "ban" | "unban") {
  return async (c: ConsoleContext) => {
    const id = c.req.param("id") ?? "";
    const path = `/users/${encodeURIComponent(id)}/ban`;
    const done =
      action === "ban"
        ? await adminCall<Ban>(c, "POST", path, { reason: formFields(c).get("reason") || "console" })
        : await adminCall<Ban>(c, "DELETE", path);
    if (!done.ok) return usersPage(c, { problem: done.problem });
    return usersPage(c, {
      notice:
        action === "ban"
          ? `Banned ${id}: tokens revoked in ${done.body.revoked_in_orgs.length} org(s), ${done.body.sessions_ended} session(s) ended.`
          : `Lifted the ban on ${id}.`,
    });
  };
}
