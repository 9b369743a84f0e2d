import { ACCOUNT_PATH } from "./account-paths.ts";

export interface OrgRow {
  id: string;
  name: string;
  active: boolean;
}

export interface MemberRow {
  id: string;
  name: string;
  email: string;
  role: string;
  self: boolean;
}

export interface OrganizationsSectionProps {
  orgs: OrgRow[];
  /** The active org's members; their roles are editable by its owners and admins (Better Auth decides). */
  members: MemberRow[];
  activeName: string | null;
  managesMembers: boolean;
}

const ROLES = ["member", "admin", "owner"] as const;

/** The org switcher and the active organization's members. */
export function OrganizationsSection(props: OrganizationsSectionProps) {
  return (
    <>
      <section aria-labelledby="orgs-heading">
        <h2 id="orgs-heading">Organizations</h2>
        <table>
          <tbody>
            {props.orgs.map((org) => (
              <tr data-testid="org-row">
                <td>{org.name}</td>
                <td>
                  {org.active ? (
                    <span class="muted">active</span>
                  ) : (
                    <form class="inline" method="post" action={ACCOUNT_PATH.switchOrganization}>
                      <input type="hidden" name="organizationId" value={org.id} />
                      <button class="secondary" type="submit" aria-label={`Switch to ${org.name}`}>
                        Switch
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      {props.activeName ? (
        <section aria-labelledby="members-heading">
          <h2 id="members-heading">Members of {props.activeName}</h2>
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Role</th>
                <th>
                  <span class="muted">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.members.map((m) => (
                <tr data-testid="member-row">
                  <td>{m.name}</td>
                  <td>{m.email}</td>
                  <td>
                    {props.managesMembers && !m.self ? (
                      <form class="inline" method="post" action={ACCOUNT_PATH.memberRole}>
                        <input type="hidden" name="memberId" value={m.id} />
                        <select name="role" aria-label={`Role of ${m.email}`}>
                          {ROLES.map((role) => (
                            <option value={role} selected={m.role === role}>
                              {role}
                            </option>
                          ))}
                        </select>
                        <button class="secondary" type="submit" aria-label={`Change the role of ${m.email}`}>
                          Change
                        </button>
                      </form>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>
                    {props.managesMembers && !m.self ? (
                      <form class="inline" method="post" action={ACCOUNT_PATH.removeMember}>
                        <input type="hidden" name="memberId" value={m.id} />
                        <button class="secondary" type="submit" aria-label={`Remove ${m.email}`}>
                          Remove
                        </button>
                      </form>
                    ) : m.self ? (
                      <span class="muted">you</span>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
    </>
  );
}
