import { ACCOUNT_PATH } from "./account-paths.ts";
import { ActionListHead, RowForm } from "./account-rows.tsx";

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
                    <RowForm
                      action={ACCOUNT_PATH.switchOrganization}
                      fields={{ organizationId: org.id }}
                      label="Switch"
                      ariaLabel={`Switch to ${org.name}`}
                    />
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
            <ActionListHead columns={["Name", "Email", "Role"]} />
            <tbody>
              {props.members.map((m) => (
                <tr data-testid="member-row">
                  <td>{m.name}</td>
                  <td>{m.email}</td>
                  <td>
                    {props.managesMembers && !m.self ? (
                      <RowForm
                        action={ACCOUNT_PATH.memberRole}
                        fields={{ memberId: m.id }}
                        label="Change"
                        ariaLabel={`Change the role of ${m.email}`}
                      >
                        <select name="role" aria-label={`Role of ${m.email}`}>
                          {ROLES.map((role) => (
                            <option value={role} selected={m.role === role}>
                              {role}
                            </option>
                          ))}
                        </select>
                      </RowForm>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>
                    {props.managesMembers && !m.self ? (
                      <RowForm
                        action={ACCOUNT_PATH.removeMember}
                        fields={{ memberId: m.id }}
                        label="Remove"
                        ariaLabel={`Remove ${m.email}`}
                      />
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
