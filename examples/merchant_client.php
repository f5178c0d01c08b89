<?php
// A merchant's client of topup's HTTP API in plain PHP (php-cli, standard library only:
// stream contexts and hash_hmac). Submits one order, then finds it by its reference.
//
//   php examples/merchant_client.php BASE_URL MERCHANT SECRET CLIENT_REF PHONE AMOUNT_FEN
//   php examples/merchant_client.php http://127.0.0.1:8480 demo-shop demo-secret web-1 13800138000 1000
//
// Prints "<status> <order id> <order status>" for the submit and for the lookup; exits 0
// when the order was stored (201 new, 200 the same order again), 1 otherwise.

/// Signs and sends one request; returns [HTTP status, decoded JSON body].
function topup_call(string $base, string $merchant, string $secret, string $method,
                    string $target, string $body = ''): array
{
    $timestamp = (string) time();
    // HMAC-SHA256 of timestamp, method, target (path and query as sent) and body.
    $signature = hash_hmac('sha256', "$timestamp\n$method\n$target\n$body", $secret);
    $context = stream_context_create(['http' => [
        'method' => $method,
        'header' => "Content-Type: application/json\r\n"
                  . "X-Topup-Merchant: $merchant\r\n"
                  . "X-Topup-Timestamp: $timestamp\r\n"
                  . "X-Topup-Signature: $signature\r\n",
        'content' => $body,
        'ignore_errors' => true,  // read the JSON error of a 4xx/5xx answer too
        'timeout' => 10,
    ]]);
    $answer = @file_get_contents($base . $target, false, $context);
    if ($answer === false || !isset($http_response_header[0])) {
        throw new RuntimeException("no answer from $base");
    }
    preg_match('#^HTTP/\S+ (\d{3})#', $http_response_header[0], $status);
    return [(int) $status[1], json_decode($answer, true)];
}

if ($argc !== 7) {
    fwrite(STDERR, "usage: php merchant_client.php BASE_URL MERCHANT SECRET CLIENT_REF PHONE AMOUNT_FEN\n");
    exit(2);
}
[, $base, $merchant, $secret, $ref, $phone, $amount] = $argv;

$order = json_encode(['client_ref' => $ref, 'phone' => $phone, 'amount_fen' => (int) $amount]);
[$status, $body] = topup_call($base, $merchant, $secret, 'POST', '/v1/orders', $order);
if ($status !== 201 && $status !== 200) {
    $error = $body['error'] ?? [];
    printf("%d %s %s\n", $status, $error['code'] ?? '?', $error['message'] ?? '');
    exit(1);
}
printf("%d %s %s\n", $status, $body['id'], $body['status']);

[$status, $body] = topup_call($base, $merchant, $secret, 'GET',
                              '/v1/orders?client_ref=' . rawurlencode($ref));
printf("%d %s %s\n", $status, $body['id'] ?? '?', $body['status'] ?? '?');
exit($status === 200 ? 0 : 1);
