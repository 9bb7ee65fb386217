import * as grpc from '@grpc/grpc-js';
import { NODE_ID, validAddress } from '../node/clusterConfig.js';
import { MembershipRefusedError, type MemberInfo, type MembershipChange } from '../node/nodeApi.js';
import { ApiError, invalidArgument } from './apiError.js';
import type {
  AddMemberRequest,
  ListMembersRequest,
  ListMembersResponse,
  MemberChangeResponse,
  MemberIdRequest,
  MemberWire,
  TransferLeaderResponse,
} from './apiProto.js';
import { unary, type ServerContext } from './rpc.js';
import { requireClusterAdmin } from './access.js';

/**
 * The Members service: membership changes at run time. Every call is served
 * by the leader (followers forward), so List shows the configuration in force
 * with the leader's view of each member's log, and a change is answered once
 * it is committed. With auth on, List needs an authenticated caller and every
 * change (and a leader transfer) a cluster admin.
 */
export function membersHandlers(ctx: ServerContext): grpc.UntypedServiceImplementation {
  const change = (method: string, validate: (req: MemberIdRequest) => MembershipChange) =>
    unary<MemberIdRequest, MemberChangeResponse, MembershipChange>(ctx, 'Members', method, validate, (c, _call, caller) => {
      requireClusterAdmin(ctx, caller, 'change the membership');
      return applyChange(ctx, c);
    });
  return {
    List: unary<ListMembersRequest, ListMembersResponse, null>(ctx, 'Members', 'List', () => null, () => Promise.resolve(list(ctx))),
    Add: unary<AddMemberRequest, MemberChangeResponse, MembershipChange>(ctx, 'Members', 'Add', validateAdd, (c, _call, caller) => {
      requireClusterAdmin(ctx, caller, 'change the membership');
      return applyChange(ctx, c);
    }),
    Promote: change('Promote', (req) => ({ type: 'promote', node: validateId(req.id) })),
    Remove: change('Remove', (req) => ({ type: 'remove', node: validateId(req.id) })),
    TransferLeader: unary<MemberIdRequest, TransferLeaderResponse, string>(ctx, 'Members', 'TransferLeader', (req) => validateId(req.id), async (to, _call, caller) => {
      requireClusterAdmin(ctx, caller, 'move the leadership');
      await refusalsAsStatus(() => ctx.node.transferLeadership(to));
      return { leader: to };
    }),
  };
}

function list(ctx: ServerContext): ListMembersResponse {
  const status = ctx.node.status();
  return { leader: status.leader ?? '', leaderLastIndex: String(leaderLastIndex(ctx)), members: ctx.node.members().map(toWire) };
}

function leaderLastIndex(ctx: ServerContext): number {
  const self = ctx.node.members().find((m) => m.id === ctx.node.id);
  return self?.matchIndex ?? ctx.node.status().commitIndex;
}

async function applyChange(ctx: ServerContext, change: MembershipChange): Promise<MemberChangeResponse> {
  const { index } = await refusalsAsStatus(() => ctx.node.changeMembership(change));
  return { index: String(index), members: ctx.node.members().map(toWire) };
}

/**
 * refusalsAsStatus maps a refused change to the status an operator's tool can
 * act on. A refusal is never UNAVAILABLE: clients must not read it as "may or
 * may not have been applied" — nothing reached the log.
 */
async function refusalsAsStatus<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof MembershipRefusedError)) throw err;
    switch (err.reason) {
      case 'not-member':
        throw new ApiError(grpc.status.NOT_FOUND, err.message);
      case 'already-member':
        throw new ApiError(grpc.status.ALREADY_EXISTS, err.message);
      default:
        // Nothing was appended: the operator (or a tool) may retry as the message says.
        throw new ApiError(grpc.status.FAILED_PRECONDITION, err.message);
    }
  }
}

function toWire(m: MemberInfo): MemberWire {
  return { id: m.id, clientAddress: m.clientAddress, peerAddress: m.peerAddress, role: m.role, matchIndex: String(m.matchIndex ?? 0) };
}

function validateId(value: unknown): string {
  if (typeof value !== 'string' || !NODE_ID.test(value)) {
    throw invalidArgument(`member id ${JSON.stringify(value)} is not valid; accepted: 1-32 lowercase letters, digits or '-' starting with a letter (e.g. "n4")`);
  }
  return value;
}

function validateAdd(req: AddMemberRequest): MembershipChange {
  const node = validateId(req.id);
  for (const [field, address] of [['client_address', req.clientAddress], ['peer_address', req.peerAddress]] as const) {
    if (typeof address !== 'string' || !validAddress(address)) {
      throw invalidArgument(`${field} ${JSON.stringify(address)} is not valid; accepted: host:port with a port from 1 to 65535 (e.g. "127.0.0.1:7004")`);
    }
  }
  if (req.clientAddress === req.peerAddress) throw invalidArgument(`client_address and peer_address must differ, both are ${req.clientAddress}`);
  return { type: 'add-learner', node, clientAddress: req.clientAddress, peerAddress: req.peerAddress };
}
