<?php
// A merchant's receiver of topup's result callbacks in plain PHP (php-cli, standard library
// only): checks the signature and the timestamp, then acknowledges. Run it with PHP's
// built-in server (for trying out; behind a real web server the same code is the handler):
//
//   TOPUP_MERCHANT=demo-shop TOPUP_SECRET=demo-secret TOPUP_CALLBACK_LOG=callbacks.log \
//     php -S 127.0.0.1:8580 examples/callback_receiver.php
//
// with the merchant's "callback_url": "http://127.0.0.1:8580/topup/result". Each callback
// appends one line to TOPUP_CALLBACK_LOG: "verified <delivery id> <order id> <status>" (and
// the answer is "success": delivered), or "rejected <reason>" (401: the node tries again).

/// Whether the callback was signed with $secret: the same HMAC-SHA256 as the merchant's own
/// requests to the node, over "<timestamp>\nPOST\n<path and query>\n<body>".
function topup_callback_verified(string $secret, string $merchant, array $headers,
                                 string $target, string $body, int $window_s = 300): ?string
{
    $timestamp = $headers['x-topup-timestamp'] ?? '';
    $signature = $headers['x-topup-signature'] ?? '';
    if (($headers['x-topup-merchant'] ?? '') !== $merchant) {
        return 'another merchant';
    }
    if (!ctype_digit($timestamp) || abs(time() - (int) $timestamp) > $window_s) {
        return 'stale or missing timestamp';
    }
    $expected = hash_hmac('sha256', "$timestamp\nPOST\n$target\n$body", $secret);
    return hash_equals($expected, $signature) ? null : 'bad signature';
}

$headers = array_change_key_case(getallheaders(), CASE_LOWER);
$body = file_get_contents('php://input');
$problem = $_SERVER['REQUEST_METHOD'] !== 'POST'
    ? 'not a POST'
    : topup_callback_verified(getenv('TOPUP_SECRET') ?: '', getenv('TOPUP_MERCHANT') ?: '',
                              $headers, $_SERVER['REQUEST_URI'], $body);
$notification = json_decode($body, true);
$line = $problem === null
    ? sprintf("verified %s %s %s\n", $notification['delivery_id'] ?? '?',
              $notification['order_id'] ?? '?', $notification['status'] ?? '?')
    : "rejected $problem\n";
if ($log = getenv('TOPUP_CALLBACK_LOG')) {
    file_put_contents($log, $line, FILE_APPEND | LOCK_EX);
}
// Deliveries repeat (the same delivery_id): a real handler records the result once, by
// order_id and status, and acknowledges every time.
http_response_code($problem === null ? 200 : 401);
header('Content-Type: text/plain');
echo $problem === null ? 'success' : $problem;
