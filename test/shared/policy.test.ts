import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../shared/policy/compile-policy.ts";
import { decide } from "../../shared/policy/decide.ts";
import { tokenAttributes } from "../../shared/policy/token-attributes.ts";
import { DEFAULT_POLICY } from "../../shared/policy/default-policy.ts";
import { AGENT, allowedFilter, policyOf, request, rule } from "./policy-fixtures.ts";

const policy = compilePolicy(DEFAULT_POLICY);

describe("default policy", () => {
  it("lets a member read public and internal documents of their org", () => {
    const d = decide(policy, request({ roles: ["member"] }));
    expect(d).toMatchObject({ effect: "allow", matched: ["documents.members-read"], reason: "allowed", errored: [] });
    expect(allowedFilter(d)).toEqual({ org_id: "o1", classification: { in: ["public", "internal"] } });
  });

  it("adds confidential for owners and admins, combining filters with any", () => {
    for (const role of ["owner", "admin"]) {
      const d = decide(policy, request({ roles: [role] }));
      expect(d.matched).toEqual(["documents.members-read", "documents.admins-read-confidential"]);
      expect(allowedFilter(d)).toEqual({
        any: [
          { org_id: "o1", classification: { in: ["public", "internal"] } },
          { org_id: "o1", classification: { in: ["confidential"] } },
        ],
      });
    }
  });

  it("denies explicitly without the documents:read scope, even for an owner", () => {
    const d = decide(policy, request({ roles: ["owner"], scope: [] }));
    expect(d).toMatchObject({ effect: "deny", reason: "explicit_deny", matched: ["documents.require-scope"] });
    expect("filter" in d).toBe(false);
  });

  it("denies by default: an unknown action or resource type, a subject with no org", () => {
    expect(decide(policy, request({}, { action: "delete" }))).toMatchObject({
      effect: "deny",
      reason: "no_matching_allow",
      matched: [],
    });
    expect(decide(policy, request({}, { type: "payroll" })).reason).toBe("no_matching_allow");
    expect(decide(policy, request({ org_id: "" })).reason).toBe("no_matching_allow");
  });

  it("allows the demo echo for members with the scope, with the explicit everything-filter {}", () => {
    const d = decide(policy, request({}, { type: "demo-echo" }));
    expect(d).toMatchObject({ effect: "allow", matched: ["demo-echo.members-read"] });
    expect(allowedFilter(d)).toEqual({});
    expect(decide(policy, request({ scope: [] }, { type: "demo-echo" })).reason).toBe("no_matching_allow");
  });

  it("lets an agent the token service delegated to read for the person, with the person's rows", () => {
    const d = decide(policy, request({ roles: ["owner"] }, { actor: AGENT }));
    expect(d.matched).toEqual([
      "documents.members-read",
      "documents.admins-read-confidential",
      "documents.delegated-agents",
    ]);
    expect(allowedFilter(d)).toEqual(allowedFilter(decide(policy, request({ roles: ["owner"] }))));
    expect(decide(policy, request({}, { actor: AGENT, type: "demo-echo" })).effect).toBe("allow");
  });

  it("never lets delegation widen: an agent for a person without the scope is denied like the person", () => {
    expect(decide(policy, request({ scope: [] }, { actor: AGENT }))).toMatchObject({
      effect: "deny",
      reason: "explicit_deny",
      matched: ["documents.require-scope"],
    });
  });

  it("decides the demo MCP server per tool: harmless for members and agents, purge for owners and admins only", () => {
    const mcp = (tool: string, method = "tools/call") => ({
      type: "mcp-demo",
      action: "call",
      context: { method: "POST", path: "/mcp", mcp_method: method, mcp_tool: tool },
    });
    expect(decide(policy, request({}, mcp("list_documents"))).matched).toEqual(["mcp-demo.members-harmless"]);
    expect(decide(policy, request({}, mcp("", "tools/list"))).effect).toBe("allow");
    expect(decide(policy, request({}, mcp("purge_documents"))).reason).toBe("no_matching_allow");
    expect(decide(policy, request({ roles: ["owner"] }, mcp("purge_documents")))).toMatchObject({
      effect: "allow",
      matched: ["mcp-demo.admins-purge"],
      filter: { org_id: "o1" },
    });
    expect(decide(policy, request({ roles: ["owner"] }, { ...mcp("purge_documents"), actor: AGENT }))).toMatchObject({
      effect: "deny",
      reason: "actor_not_permitted",
      matched: ["mcp-demo.admins-purge"],
    });
    expect(decide(policy, request({}, { ...mcp("list_documents"), actor: AGENT })).matched).toEqual([
      "mcp-demo.members-harmless",
      "mcp-demo.delegated-agents-harmless",
    ]);
  });

  it("uses the decision id it is given", () => {
    expect(decide(policy, request(), "d-1").id).toBe("d-1");
    expect(decide(policy, request({ scope: [] }), "d-2").id).toBe("d-2");
  });
});

describe("delegation: decided on both the subject and the actor (ASVS 8.3.3)", () => {
  const subjectRule = rule({ id: "subject", when: '"documents:read" in subject.scope' });
  const actorRule = rule({ id: "actor", when: 'actor.client_id == "mac_agent"' });
  const p = policyOf(subjectRule, actorRule);

  it("allows a delegated request only when a subject rule and an actor rule both hold", () => {
    expect(decide(p, request({}, { actor: AGENT }))).toMatchObject({ effect: "allow", matched: ["subject", "actor"] });
  });

  it("denies actor_not_permitted when no rule naming actor lets this actor act, naming the subject's rules", () => {
    const other = { ...AGENT, id: "mac_other", client_id: "mac_other" };
    expect(decide(p, request({}, { actor: other }))).toMatchObject({
      effect: "deny",
      reason: "actor_not_permitted",
      matched: ["subject"],
    });
    expect(decide(policyOf(subjectRule), request({}, { actor: AGENT })).reason).toBe("actor_not_permitted");
  });

  it("an actor rule alone never allows: the subject must be allowed on their own", () => {
    expect(decide(p, request({ scope: [] }, { actor: AGENT }))).toMatchObject({
      effect: "deny",
      reason: "no_matching_allow",
    });
    const both = rule({ id: "both", when: 'actor.client_id == "mac_agent" && "owner" in subject.roles' });
    expect(decide(policyOf(both), request({ roles: ["owner"] }, { actor: AGENT })).reason).toBe("no_matching_allow");
  });

  it("actor rules take no part in a direct request: they neither allow nor deny it", () => {
    expect(decide(policyOf(actorRule), request()).reason).toBe("no_matching_allow");
    const denyAgents = rule({ id: "no-agents", effect: "deny", when: 'actor.id != ""' });
    expect(decide(policyOf(subjectRule, denyAgents), request()).effect).toBe("allow");
    expect(decide(policyOf(subjectRule, actorRule, denyAgents), request({}, { actor: AGENT }))).toMatchObject({
      effect: "deny",
      reason: "explicit_deny",
      matched: ["no-agents"],
    });
  });

  it("sees the whole chain and context.delegated", () => {
    const direct = rule({ id: "direct-only", actions: ["write"], when: "!context.delegated" });
    const shallow = rule({ id: "no-sub-delegation", when: "size(actor.chain) == 1" });
    const p2 = policyOf(subjectRule, shallow, direct);
    expect(decide(p2, request({}, { actor: AGENT })).effect).toBe("allow");
    const chained = { ...AGENT, chain: ["mac_agent", "mac_first"] };
    expect(decide(p2, request({}, { actor: chained })).reason).toBe("actor_not_permitted");
    expect(decide(p2, request({}, { action: "write" })).effect).toBe("allow");
    expect(decide(p2, request({}, { action: "write", actor: AGENT })).reason).toBe("no_matching_allow");
  });

  it("reads subject and actor from a token's claims, the chain outermost first (RFC 8693 §4.1)", () => {
    const claims = {
      iss: "i",
      aud: "a",
      exp: 2,
      iat: 1,
      jti: "j",
      sub: "u1",
      client_id: "mac_agent",
      org_id: "o1",
      scope: "documents:read  openid",
      act: { sub: "mac_agent", client_id: "mac_agent", act: { sub: "mac_first", client_id: "mac_first" } },
    };
    expect(tokenAttributes(claims)).toEqual({
      subject: { id: "u1", org_id: "o1", client_id: "mac_agent", roles: [], scope: ["documents:read", "openid"] },
      actor: { id: "mac_agent", client_id: "mac_agent", chain: ["mac_agent", "mac_first"] },
    });
    const { act: _, ...direct } = claims;
    expect(tokenAttributes(direct)).not.toHaveProperty("actor");
  });
});
