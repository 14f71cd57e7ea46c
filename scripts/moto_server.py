"""moto server with IAM date conditions evaluated, for awslease's tests and demo.

moto 5.2 evaluates only `StringEquals` in policy conditions; any other operator is
ignored, so a conditional Deny (awslease's expiry policy: Deny * when aws:CurrentTime is
past the lease's expiry) denies everything from the start, and an identity policy's
conditions never see aws:CurrentTime. AWS evaluates these. This launcher registers the
Date* operators in moto's own operator table, supplies aws:CurrentTime, and makes an
unmet condition leave the statement out (NEUTRAL) as AWS does, instead of DENIED.
It also fixes S3 signature checks for query values containing "/" (see below), so a
Pulumi S3 state backend works against the enforcing server. It also supplies, as AWS
does, aws:userid (an IAM user's id; `<RoleId>:<session name>` for a role session) and,
for role sessions, aws:TokenIssueTime, and leaves out a statement whose condition names
either key when the request has none (AWS: a missing key does not match). awslease's
STS revocation denies sessions by these keys. Everything else is moto as shipped:
`python3 moto_server.py -H 127.0.0.1 -p PORT`.
"""
import contextvars
import datetime

from moto.iam import access_control, policy_conditions
from moto.iam.access_control import PermissionResult


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _parse(text):
    return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _date_op(compare):
    def operation(expected, actual):
        try:
            return any(compare(_parse(actual), _parse(e)) for e in _as_list(expected))
        except ValueError:
            return False

    return operation


policy_conditions.CONDITION_OPERATIONS.update(
    {
        "DateEquals": _date_op(lambda a, e: a == e),
        "DateNotEquals": _date_op(lambda a, e: a != e),
        "DateLessThan": _date_op(lambda a, e: a < e),
        "DateLessThanEquals": _date_op(lambda a, e: a <= e),
        "DateGreaterThan": _date_op(lambda a, e: a > e),
        "DateGreaterThanEquals": _date_op(lambda a, e: a >= e),
    }
)

_check_conditions = access_control.IAMPolicyStatement._check_conditions

# The identity keys of the request being checked (set around check_action_permitted).
_identity = contextvars.ContextVar("awslease_request_identity", default={})
IDENTITY_KEYS = ("aws:userid", "aws:TokenIssueTime")


def _utc_text(when):
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_conditions_with_time(self, incoming_condition_values):
    values = dict(incoming_condition_values or {})
    values.setdefault("aws:CurrentTime", _utc_text(datetime.datetime.now(datetime.timezone.utc)))
    for key, value in _identity.get().items():
        values.setdefault(key, value)
    for operator, keys in (self._statement.get("Condition") or {}).items():
        if operator.endswith("IfExists"):
            continue
        if any(key in IDENTITY_KEYS and key not in values for key in keys):
            return False
    return _check_conditions(self, values)


access_control.IAMPolicyStatement._check_conditions = _check_conditions_with_time

_moto_is_action_permitted = access_control.IAMPolicyStatement.is_action_permitted


def _is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    result = _moto_is_action_permitted(self, action, resource, principal, incoming_condition_values)
    # An identity-policy statement whose condition is not met does not apply (AWS);
    # moto answers DENIED. Trust policies (with a Principal) keep moto's behaviour.
    if (
        result == PermissionResult.DENIED
        and "Principal" not in self._statement
        and self._statement.get("Condition")
        and not self._check_conditions(incoming_condition_values)
    ):
        return PermissionResult.NEUTRAL
    return result


access_control.IAMPolicyStatement.is_action_permitted = _is_action_permitted

# A role session's issue time, which moto does not keep.
from moto.sts import models as sts_models

_moto_assumed_role_init = sts_models.AssumedRole.__init__


def _assumed_role_init(self, *args, **kwargs):
    _moto_assumed_role_init(self, *args, **kwargs)
    self.awslease_issued_at = _utc_text(datetime.datetime.now(datetime.timezone.utc))


sts_models.AssumedRole.__init__ = _assumed_role_init


def _identity_of(access_key):
    if isinstance(access_key, access_control.AssumedRoleAccessKey):
        sts = sts_models.sts_backends[access_key.account_id][access_key.partition]
        for role in sts.assumed_roles:
            if role.access_key_id == access_key._access_key_id:
                issued = getattr(role, "awslease_issued_at", None)
                return {"aws:userid": role.user_id, **({"aws:TokenIssueTime": issued} if issued else {})}
    if isinstance(access_key, access_control.IAMUserAccessKey):
        try:
            return {"aws:userid": access_key.backend.get_user(access_key._owner_user_name).id}
        except Exception:
            return {}
    return {}


_moto_check_action_permitted = access_control.IAMRequestBase.check_action_permitted


def _check_action_permitted(self, resource):
    token = _identity.set(_identity_of(self._access_key))
    try:
        return _moto_check_action_permitted(self, resource)
    finally:
        _identity.reset(token)


access_control.IAMRequestBase.check_action_permitted = _check_action_permitted

# S3 with enforcement: moto rebuilds the request URL with the query already decoded, so a
# value containing "/" (e.g. ListObjectsV2 Prefix=.pulumi/stacks/, as every Pulumi S3
# backend sends) no longer matches the client's canonical request: SignatureDoesNotMatch.
# SigV4 canonicalises each query key and value URI-encoded; re-encode them the same way.
from urllib.parse import quote, unquote

_moto_s3_aws_request = access_control.S3IAMRequest._create_aws_request


def _s3_aws_request_with_canonical_query(self):
    path, sep, query = self._path.partition("?")
    if sep and query:
        pairs = []
        for pair in query.split("&"):
            key, eq, value = pair.partition("=")
            pairs.append(quote(unquote(key), safe="-_.~") + eq + quote(unquote(value), safe="-_.~"))
        self._path = path + "?" + "&".join(pairs)
    return _moto_s3_aws_request(self)


access_control.S3IAMRequest._create_aws_request = _s3_aws_request_with_canonical_query

if __name__ == "__main__":
    from moto.server import main

    main()
