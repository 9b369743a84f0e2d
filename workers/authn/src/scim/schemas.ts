/**
 * RFC 7644 §4 /Schemas: the attributes this server keeps (scim/resources.ts),
 * in RFC 7643 §7's representation, so a directory maps only what is stored.
 */
import { SCIM_SCHEMA } from "./resources.ts";

interface Attribute {
  name: string;
  type: "string" | "boolean" | "complex" | "reference";
  multiValued?: boolean;
  required?: boolean;
  mutability?: "readOnly" | "readWrite" | "immutable";
  uniqueness?: "none" | "server";
  subAttributes?: Attribute[];
}

/** RFC 7643 §7's defaults made explicit on every attribute. */
function attribute(a: Attribute): Record<string, unknown> {
  return {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued ?? false,
    required: a.required ?? false,
    caseExact: false,
    mutability: a.mutability ?? "readWrite",
    returned: "default",
    uniqueness: a.uniqueness ?? "none",
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(attribute) } : {}),
  };
}

const USER: Attribute[] = [
  { name: "userName", type: "string", required: true, uniqueness: "server" },
  {
    name: "name",
    type: "complex",
    subAttributes: [
      { name: "givenName", type: "string" },
      { name: "familyName", type: "string" },
    ],
  },
  { name: "displayName", type: "string" },
  {
    name: "emails",
    type: "complex",
    multiValued: true,
    subAttributes: [
      { name: "value", type: "string" },
      { name: "type", type: "string" },
      { name: "primary", type: "boolean" },
    ],
  },
  { name: "active", type: "boolean" },
  {
    name: "groups",
    type: "complex",
    multiValued: true,
    mutability: "readOnly",
    subAttributes: [
      { name: "value", type: "string", mutability: "readOnly" },
      { name: "display", type: "string", mutability: "readOnly" },
    ],
  },
];

const GROUP: Attribute[] = [
  { name: "displayName", type: "string", required: true, uniqueness: "server" },
  {
    name: "members",
    type: "complex",
    multiValued: true,
    subAttributes: [
      { name: "value", type: "string", mutability: "immutable" },
      { name: "display", type: "string", mutability: "readOnly" },
    ],
  },
];

export function schemaResources(base: string) {
  return [
    { id: SCIM_SCHEMA.user, name: "User", description: "A person the org's directory provisions", attributes: USER },
    { id: SCIM_SCHEMA.group, name: "Group", description: "A group of the org's people", attributes: GROUP },
  ].map((s) => ({
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.map(attribute),
    meta: { resourceType: "Schema", location: `${base}/${s.id}` },
  }));
}
